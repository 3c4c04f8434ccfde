"""Constants of the Twilio Voice channel: paths, Twilio's field values, and the IVR's prompts.

Field lists and values: Twilio docs "Voice Webhooks", "TwiML Voice: <Gather>", "<Enqueue>", "<Record>",
"<Dial>" (see shared PROVIDERS.md, "Voice webhooks"). Twilio's own (API base, signature headers) are the
Twilio channels' shared ``channels._twilio``.
"""

from typing import Final

NAME: Final = "twilio_voice"

# Sub-paths under /webhooks/twilio_voice ("" is the number's voice URL).
GATHER_PATH: Final = "/gather"
FEEDBACK_PATH: Final = "/feedback"
WAIT_PATH: Final = "/wait"
QUEUE_PATH: Final = "/queue"
DIALED_PATH: Final = "/dialed"
VOICEMAIL_PATH: Final = "/voicemail"
STATUS_PATH: Final = "/status"
RECORDING_PATH: Final = "/recording"
TRANSCRIPTION_PATH: Final = "/transcription"

# Query parameters of our own callback URLs: Twilio signs the whole URL, so they are as trustworthy as the
# body. Recording status callbacks carry no From/To, so the identity travels in the URL.
ACCOUNT_PARAM: Final = "account"
CUSTOMER_PARAM: Final = "customer"

# https://www.twilio.com/docs/voice/api/call-resource#call-status-values
FINAL_CALL_STATUSES: Final = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
CALL_STATUSES: Final = FINAL_CALL_STATUSES | {"queued", "initiated", "ringing", "in-progress"}
# <Enqueue action> QueueResult values after which the caller is sent to voicemail.
VOICEMAIL_QUEUE_RESULTS: Final = frozenset({"leave", "queue-full", "error", "system-shutdown"})
# <Dial action> DialCallStatus values that mean nobody took the call.
UNANSWERED_DIAL_STATUSES: Final = frozenset({"busy", "no-answer", "failed", "canceled"})

RECORDING_CONTENT_TYPE: Final = "audio/wav"
"""Twilio serves a recording's URL without extension as WAV (docs "Recording", "Fetch media")."""
CURRENT_RECORDING: Final = "Twilio.CURRENT"
"""Stands for the call's active recording in the Recordings API (docs "Update a Recording resource")."""
DIAL_RECORD: Final = "record-from-answer-dual"
VOICEMAIL_MAX_LENGTH_S: Final = 120
"""<Record transcribe> transcribes recordings of at most two minutes (docs "TwiML Voice: <Record>")."""
MAX_WAIT_PAUSE_S: Final = 15
ANSWER_TIMEOUT_S: Final = 8.0
"""How long a caller waits for the knowledge base; Twilio gives a webhook 15 s in all."""

DEFAULT_LOCALES: Final = {"en": "en-US", "he": "he-IL", "ar": "ar-AE", "fa": "fa-IR"}
"""A bare language setting (``he``) becomes this locale for <Say> and <Gather language>."""

PROMPTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "greeting": "Thank you for calling. Please tell us briefly what your call is about.",
        "recording_notice": "This call may be recorded for quality and training purposes.",
        "menu_option": "For {label}, press {digit}.",
        "did_it_help": "If that answered your question, press 1 or say yes. "
        "Otherwise, stay on the line for an agent.",
        "goodbye": "Thank you for calling. Goodbye.",
        "connecting": "Please hold while we connect you to an agent.",
        "wait": "All our agents are busy right now. Please stay on the line, and an agent will be with you "
        "shortly.",
        "voicemail": "Sorry, nobody can take your call right now. Please leave a message after the tone, "
        "and we will call you back.",
        "voicemail_thanks": "Thank you, your message has been recorded. Goodbye.",
    },
    "he": {
        "greeting": "תודה שהתקשרתם. ספרו לנו בקצרה במה נוכל לעזור.",
        "recording_notice": "שיחה זו עשויה להיות מוקלטת לצורכי בקרת איכות והדרכה.",
        "menu_option": "עבור {label}, הקישו {digit}.",
        "did_it_help": "אם זה ענה על שאלתכם, הקישו 1 או אמרו כן. אחרת, הישארו על הקו ונציג יענה לכם.",
        "goodbye": "תודה שהתקשרתם. להתראות.",
        "connecting": "אנא המתינו, אנו מעבירים אתכם לנציג.",
        "wait": "כל הנציגים שלנו עסוקים כרגע. אנא הישארו על הקו, ונציג יענה לכם בהקדם.",
        "voicemail": "מצטערים, אין כרגע מי שיענה לשיחה. אנא השאירו הודעה אחרי הצליל ונחזור אליכם.",
        "voicemail_thanks": "תודה, ההודעה שלכם נשמרה. להתראות.",
    },
    "ar": {
        "greeting": "شكرًا لاتصالك. يرجى إخبارنا باختصار عن سبب اتصالك.",
        "recording_notice": "قد يتم تسجيل هذه المكالمة لأغراض ضمان الجودة والتدريب.",
        "menu_option": "بخصوص {label}، اضغط {digit}.",
        "did_it_help": "إذا أجاب ذلك عن سؤالك، اضغط 1 أو قل نعم. وإلا، ابقَ على الخط للتحدث مع أحد الموظفين.",
        "goodbye": "شكرًا لاتصالك. مع السلامة.",
        "connecting": "يرجى الانتظار، جارٍ تحويلك إلى أحد الموظفين.",
        "wait": "جميع موظفينا مشغولون حاليًا. يرجى البقاء على الخط، وسيرد عليك أحد الموظفين قريبًا.",
        "voicemail": "عذرًا، لا يمكن لأحد الرد على مكالمتك الآن. "
        "يرجى ترك رسالة بعد سماع الصفارة وسنعاود الاتصال بك.",
        "voicemail_thanks": "شكرًا، تم تسجيل رسالتك. مع السلامة.",
    },
    "fa": {
        "greeting": "از تماس شما سپاسگزاریم. لطفاً به‌طور خلاصه بگویید موضوع تماس شما چیست.",
        "recording_notice": "این تماس ممکن است برای کنترل کیفیت و آموزش ضبط شود.",
        "menu_option": "برای {label}، عدد {digit} را فشار دهید.",
        "did_it_help": "اگر این پاسخ سؤال شما بود، عدد ۱ را فشار دهید یا بگویید بله. "
        "در غیر این صورت پشت خط بمانید تا به کارشناس وصل شوید.",
        "goodbye": "از تماس شما متشکریم. خدانگهدار.",
        "connecting": "لطفاً منتظر بمانید، در حال اتصال شما به یک کارشناس هستیم.",
        "wait": "همه کارشناسان ما در حال حاضر مشغول هستند. "
        "لطفاً پشت خط بمانید؛ به‌زودی به تماس شما پاسخ داده می‌شود.",
        "voicemail": "متأسفیم، در حال حاضر کسی نمی‌تواند به تماس شما پاسخ دهد. "
        "لطفاً پس از شنیدن صدای بوق پیام بگذارید تا با شما تماس بگیریم.",
        "voicemail_thanks": "متشکریم، پیام شما ضبط شد. خدانگهدار.",
    },
}

# What a caller says to "did that answer your question?": a yes word and no no-word means resolved.
YES_WORDS: Final = {
    "en": frozenset({"yes", "yeah", "yep", "yup", "sure"}),
    "he": frozenset({"כן"}),
    "ar": frozenset({"نعم", "أجل", "ايوه", "أيوه"}),
    "fa": frozenset({"بله", "آره", "بلی"}),
}
NO_WORDS: Final = {
    "en": frozenset({"no", "not", "nope", "agent", "person", "human"}),
    "he": frozenset({"לא", "נציג", "נציגה"}),
    "ar": frozenset({"لا", "موظف"}),
    "fa": frozenset({"نه", "خیر", "کارشناس"}),
}
RESOLVED_DIGIT: Final = "1"
