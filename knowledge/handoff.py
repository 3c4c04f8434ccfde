"""Does a customer message ask for a person? Curated phrases in en/he/fa/ar, plus similarity to exemplars.

The phrase signal reads each clause of the normalised message: a word for a person (agent, נציג, اپراتور,
موظف) near a request for one (talk to, תעבירו, وصل کنید, حولني), a message that is little more than such a
word ("human please"), or a refusal of the bot ("not a bot", "די עם הבוט"). A clause that thanks, praises or
negates ("no need to talk to anyone") asks for nobody: "your agent was very helpful" mentions an agent but
asks for none. The embedding signal, when the caller has the message's embedding, compares it with request
exemplars and with counter-exemplars (praise of agents, ordinary questions) and needs both to agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COUNTER_EXEMPLARS",
    "EXEMPLARS",
    "HandoffDetector",
    "HandoffReason",
    "HandoffSignal",
    "flatten_exemplars",
    "normalise",
]

HandoffReason = Literal["asked_for_a_person", "refused_the_bot", "similar_to_a_request", "declined", "none"]

# Requests for a person, per language, written apart from the evaluation sets. The hub encodes them once
# (kind "query", like the messages) and hands the rows to HandoffDetector.
EXEMPLARS: Mapping[str, tuple[str, ...]] = {
    "en": (
        "I want to talk to a human",
        "can I speak to a real person please",
        "connect me with an agent",
        "transfer me to customer service",
        "get me a representative now",
        "stop the bot, I need a person",
        "is there a human I can chat with?",
        "please have someone call me back",
    ),
    "he": (
        "אני רוצה לדבר עם נציג",
        "אפשר נציג אנושי בבקשה",
        "תעבירו אותי לבן אדם",
        "די עם הבוט, תן לי לדבר עם מישהו",
        "תחברו אותי לשירות לקוחות",
        "אני צריכה לדבר עם אדם אמיתי",
        "שנציג יחזור אליי בבקשה",
        "נציג עכשיו",
    ),
    "fa": (
        "می‌خواهم با یک اپراتور صحبت کنم",
        "لطفاً مرا به کارشناس وصل کنید",
        "با یک انسان واقعی حرف بزنم",
        "ربات نمی‌خواهم، پشتیبان می‌خواهم",
        "میشه با یک نفر از پشتیبانی صحبت کنم؟",
        "مرا به نماینده منتقل کنید",
        "لطفاً یک کارشناس با من تماس بگیرد",
        "اپراتور لطفاً",
    ),
    "ar": (
        "أريد التحدث مع موظف",
        "حولني إلى خدمة العملاء من فضلك",
        "ممكن أكلم شخص حقيقي؟",
        "لا أريد روبوت، أريد إنسان",
        "وصلني بممثل خدمة العملاء",
        "بدي احكي مع حدا من الدعم",
        "أرجو أن يتصل بي موظف",
        "موظف لو سمحت",
    ),
}

# What requests are easily confused with: praise of an agent, past contact, ordinary questions.
COUNTER_EXEMPLARS: Mapping[str, tuple[str, ...]] = {
    "en": (
        "your agent was very helpful, thanks",
        "I spoke to someone yesterday and it is fixed",
        "the representative told me the refund is on its way",
        "how do I pay my bill?",
        "my internet is not working",
        "what time does the store open?",
        "thank you, that answers my question",
        "can I change my plan?",
    ),
    "he": (
        "הנציג עזר לי מאוד, תודה",
        "דיברתי אתמול עם נציגה והיא סידרה הכל",
        "איך משלמים את החשבון?",
        "האינטרנט לא עובד מהבוקר",
        "מה שעות הפתיחה של החנות?",
        "תודה רבה, קיבלתי תשובה",
        "אפשר להחליף מסלול?",
        "הנציגה אמרה שהזיכוי יגיע בחשבון הבא",
    ),
    "fa": (
        "کارشناس شما خیلی کمک کرد، ممنون",
        "دیروز با پشتیبانی صحبت کردم و مشکل حل شد",
        "چطور قبضم را پرداخت کنم؟",
        "اینترنت من کار نمی‌کند",
        "ساعت کاری فروشگاه چیست؟",
        "ممنون، جوابم را گرفتم",
        "می‌توانم طرحم را عوض کنم؟",
        "اپراتور گفت بازپرداخت انجام می‌شود",
    ),
    "ar": (
        "الموظف كان متعاونًا جدًا، شكرًا",
        "تحدثت أمس مع موظف وتم حل المشكلة",
        "كيف أدفع فاتورتي؟",
        "الإنترنت لا يعمل عندي",
        "متى يفتح المتجر؟",
        "شكرًا، حصلت على الإجابة",
        "هل يمكنني تغيير باقتي؟",
        "قال لي الممثل إن المبلغ سيُعاد",
    ),
}


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """One language's words as regex alternations, written the way normalise() leaves text."""

    person: str  # a human on our side; counts near a contact word, next to a want word, or alone
    vague: str  # someone, anyone: counts only near a contact word ("I need someone to fix it" is no request)
    prefix: str  # clitics glued to the person word (Hebrew ל/ה/ב, Arabic ال/ب/ل); "" for none
    contact: str  # talk to, connect, transfer: within a few words of a person word, on either side
    want: str  # want, need, please: only right next to a person word
    filler: str  # words that may stand between a want word and the person (a, real, with)
    bot: str  # a refusal of the bot: counts on its own
    there: str  # "is there a real person?": <anyone> is any person word, <someone> not a vague one
    here: str  # what may follow a vague word in "is anyone there?" (not "is anyone reading my notes?")
    veto: str  # thanks, praise, negation ("no need"): a clause with one asks for nobody


_LEXICONS: Mapping[str, _Lexicon] = {
    "en": _Lexicon(
        person=r"human(?: being)?|humans|real person|person|people|agent|agents|representative|rep|operator"
        r"|staff|employee|advisor|adviser|manager|supervisor|customer (?:service|care|support)"
        r"|support team|live chat|live support",
        vague=r"someone|somebody|anyone|anybody",
        prefix="",
        contact=r"talk|talking|speak|speaking|chat|connect|transfer|put me through|escalate|reach"
        r"|forward me|pass me|redirect me|call me|ring me|phone me|get hold of",
        want=r"want|wanna|need|get|get me|give me|can i have|could i have|may i have|d like|would like"
        r"|prefer|request|requesting|demand|please|pls|plz|asap|now",
        filler=r"a|an|the|to|some|real|live|actual|proper|human|with|speak|talk|just|please|right|now",
        bot=r"(?:not|no|stop|enough|hate|don t want|dont want|do not want|rather not|no more)(?: \S+){0,3}"
        r" (?:a |an |the |this |your )?(?:bot|robot|chatbot|automated)",
        there=r"^(?:hello |hi )?(?:is there|are there|is|are|any) (?:a |an |any )?(?:real |live |actual )?"
        r"<someone>",
        here=r"there|here|available|real|human|alive|on the line|out there",
        veto=r"thank|thanks|thx|helpful|great|amazing|excellent|kind|wonderful|appreciate|don t need"
        r"|dont need|do not need|no need|not necessary|never mind|nevermind|didn t|did not|don t want to"
        r"|dont want to|do not want to|rather not",
    ),
    "he": _Lexicon(
        person=r"נציג|נציגה|נציגים|נציגת|בן אדם|בנאדם|אדם אמיתי|בן אנוש|מוקדן|מוקדנית|שירות לקוחות"
        r"|שירות הלקוחות|תמיכה אנושית|אנושי|מנהל|מנהלת|אחראי|טלפנית",
        vague=r"מישהו|מישהי|מישהו אנושי",
        prefix=r"(?:ו|ש)?(?:ל|ה|ב|מ)?",
        contact=r"לדבר|לשוחח|להתקשר|תעביר|תעבירו|תעבירי|להעביר|העבר|העבירו|תחבר|תחברו|תחברי|לחבר|חברו"
        r"|שיחזור|שיחזרו|יחזור|שיתקשר|שיתקשרו|יתקשר|לשיחה|לפנות|להשיג",
        want=r"רוצה|רוצים|צריך|צריכה|צריכים|מבקש|מבקשת|בבקשה|אפשר|תן לי|תני לי|תנו לי|דחוף|עכשיו",
        filler=r"עם|איזה|אמיתי|אנושי|אחד|אחת|כבר|רק|אני|לי|לדבר|לשוחח|בבקשה",
        bot=r"(?:לא|די|מספיק|בלי|עזוב|עזבו|נמאס)(?: \S+){0,3} [והלבמש]{0,2}(?:עם )?[הל]?(?:בוט|רובוט)",
        there=r"^(?:שלום |היי )?(?:האם )?יש (?:פה |כאן |שם )?<someone>",
        here=r"אמיתי|אנושי|פה|כאן|שם|זמין|שעונה",
        veto=r"תודה|עזר|עזרה|אדיב|אדיבה|מקסים|מקסימה|מצוין|מצוינת|נהדר|נהדרת|מעולה|לא צריך|לא צריכה"
        r"|אין צורך|לא רוצה|לא מעוניין|לא מעוניינת",
    ),
    "fa": _Lexicon(
        person=r"اپراتور|اوپراتور|کارشناس|پشتیبان|پشتیبانی|نماینده|انسان|ادم|ادمیزاد|شخص|مسیول|کارمند"
        r"|همکار|خدمات مشتریان|مامور|مدیر|ناظر|operator|operater|karshenas|poshtiban|poshtibani|ensan|adam",
        vague=r"یکی|یک نفر|یه نفر|کسی|yeki|kasi",
        prefix=r"(?:به |با |یک |یه )?",
        contact=r"صحبت|حرف|گفتگو|گفت و گو|وصل|وصلم|متصل|منتقل|ارجاع|تماس|زنگ|sohbat|harf|vasl|vaslam",
        want=r"می ?خواهم|می ?خوام|لازم دارم|نیاز دارم|لطفا|خواهش|می ?شه|فورا|mikham|mikhaam|lotfan|lotfa",
        filler=r"با|یک|یه|واقعی|انسانی|واقعا|لطفا|فقط|الان|من|را|رو|تا",
        bot=r"(?:ربات|روبات|بات)(?: \S+){0,3} (?:نه|نمی ?خواهم|نمی ?خوام|بسه|کافیه)"
        r"|(?:نمی ?خواهم|نمی ?خوام|بسه)(?: \S+){0,3} (?:با )?(?:ربات|روبات|بات)",
        there=r"<anyone>(?: \S+){0,2} (?:اونجا|انجا|اینجا)? ?(?:هست|هستش|هستید|هستین)(?: \S+){0,2}$",
        here=r"اونجا|انجا|اینجا|واقعی",
        veto=r"ممنون|متشکر|مرسی|سپاس|تشکر|عالی|خوب بود|مهربان|کمک کرد|کمکم کرد|لازم نیست|نیازی نیست"
        r"|نمی ?خواهم|نمی ?خوام|صحبت کردم|حرف زدم|تماس گرفتم|زنگ زدم",
    ),
    "ar": _Lexicon(
        person=r"موظف|موظفه|ممثل|ممثله|انسان|بشر|مسوول|مسیول|خدمه العملاء|خدمه الزباین|الدعم|مندوب|مشرف"
        r"|مدیر|فریق الدعم|mowazaf|mowazzaf|muwazzaf|mwazaf|insan",
        vague=r"احد|حدا|حد|شخص|واحد|7ada|7ad",
        prefix=r"(?:و|ف)?(?:ب|ل|ک)?(?:ال|ل)?",
        contact=r"اتحدث|اتکلم|احکی|التحدث|التکلم|الحدیث|الکلام|اکلم|کلمنی|حولنی|حولونی|تحویلی|تحویل"
        r"|وصلنی|وصلونی|اوصلنی|توصیلی|یتصل|اتصل|اتواصل|التواصل|یکلمنی|ahki|a7ki|ehki|akallem|7awelni|hawelni",
        want=r"ارید|بدی|بدنا|عایز|عاوز|ابغی|ابی|احتاج|محتاج|من فضلک|لو سمحت|رجاء|ممکن|اطلب|bdi|biddi|baddi"
        r"|3ayez|3awez|mumkin|momken",
        filler=r"مع|الی|ان|حقیقی|بشری|فقط|الان|رجاء|اتحدث|اتکلم|التحدث|التکلم",
        bot=r"(?:لا|مش|مو|کفی|بلاش|بدون|بلا)(?: \S+){0,3} (?:ال)?(?:روبوت|بوت)",
        there=r"^(?:مرحبا |السلام علیکم )?(?:هل )?(?:في|فيه|يوجد) (?:\S+ )?<someone>",
        here=r"هون|هنا|موجود|يرد|بيرد|يحكي|بيحكي|حقيقي|معي",
        veto=r"شکرا|اشکر|الشکر|ممتاز|رایع|ساعدنی|مفید|لطیف|محترم|جزاک|لا ارید|لا احتاج|ما بدی|مش عایز"
        r"|لا داعی|لا حاجه|و?ولا حدا|ما حدا|و?ولا حد|ما حد|محدش|و?ولا احد|لا احد",
    ),
}

# Arabic-script letter variants folded onto one form (Persian yeh and keheh, heh for teh marbuta); hamza and
# madda on a carrier go with the other combining marks. A ZWNJ (Persian می‌خواهم) becomes a space.
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ـ": None, "\u200c": " ", "\u200d": None})
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n؟،؛]+| (?:but|however|אבל|اما|ولی|لكن|لکن|بس) ")


def _fold(text: str, *, casefold: bool = True) -> str:
    """Casefold, drop combining marks (niqqud, harakat, accents), fold Arabic-script letter variants."""
    text = unicodedata.normalize("NFKC", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold() if casefold else text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).translate(_LETTERS)


def normalise(text: str) -> str:
    """``text`` folded, with punctuation and symbols as spaces and runs of spaces collapsed."""
    spaced = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in _fold(text))
    return " ".join(spaced.split())


def _clauses(text: str) -> list[str]:
    # Cut before punctuation goes, so "thanks, but I want a human" is read as two clauses.
    parts = _CLAUSE_BREAK.split(" " + _fold(text) + " ")
    return [clause for clause in map(normalise, parts) if clause]


@dataclass(frozen=True, slots=True)
class _Patterns:
    asks: tuple[re.Pattern[str], ...]
    bot: re.Pattern[str]
    veto: re.Pattern[str]


def _compile(raw: _Lexicon, window: int = 4) -> _Patterns:
    # Casefolding would turn the regex escape \S into \s; the words are written in lower case already.
    lex = _Lexicon(**{f.name: _fold(getattr(raw, f.name), casefold=False) for f in fields(raw)})
    person = f"{lex.prefix}(?:{lex.person})"
    anyone = f"{lex.prefix}(?:{lex.person}|{lex.vague})"
    gap, fill = rf"(?: \S+){{0,{window}}}", f"(?: (?:{lex.filler})){{0,3}}"
    polite = f"(?:{lex.want}|{lex.filler})"
    someone = f"(?:{person}|{lex.prefix}(?:{lex.vague})(?: (?:{lex.here})|$))"

    def words(body: str) -> re.Pattern[str]:
        return re.compile(rf"(?:^| )(?:{body})(?= |$)")

    return _Patterns(
        asks=(
            words(rf"(?:{lex.contact}){gap} {anyone}|{anyone}{gap} (?:{lex.contact})"),
            words(rf"(?:{lex.want}){fill} {person}|{person}{fill} (?:{lex.want})"),
            re.compile(rf"^(?:{polite} )*{person}(?: {polite})*$"),
            words(lex.there.replace("<anyone>", anyone).replace("<someone>", someone)),
        ),
        bot=words(lex.bot),
        veto=words(lex.veto),
    )


def _union(lexicons: Iterable[_Lexicon]) -> _Lexicon:
    """Every language's words in one lexicon, so that a message mixing them ("بدي נציג") is read too."""
    parts = list(lexicons)
    joined = {f.name: "|".join(f"(?:{getattr(lex, f.name)})" for lex in parts) for f in fields(_Lexicon)}
    return _Lexicon(**{name: f"(?:{alternatives})" for name, alternatives in joined.items()})


_PATTERNS = _compile(_union(_LEXICONS.values()))


@dataclass(frozen=True, slots=True)
class HandoffSignal:
    """Whether a message asks for a person; ``score`` 1.0 for a phrase, else the best exemplar cosine."""

    requested: bool
    score: float
    reason: HandoffReason
    matched: str | None  # the phrase or the exemplar that decided it


def flatten_exemplars(exemplars: Mapping[str, Sequence[str]]) -> list[str]:
    """The exemplar phrases in one list, in the order the detector expects their embeddings."""
    return [phrase for language in sorted(exemplars) for phrase in exemplars[language]]


def _rows(embeddings: NDArray[Any] | None, count: int, what: str) -> NDArray[np.float64] | None:
    if embeddings is None:
        return None
    rows = np.asarray(embeddings, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] != count:
        raise ValueError(f"expected {count} {what} embeddings as rows, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    result: NDArray[np.float64] = rows / np.maximum(norms, 1e-12)
    return result


class HandoffDetector:
    """Phrases first; then, given the message's embedding, nearness to requests rather than non-requests."""

    def __init__(
        self,
        exemplar_embeddings: NDArray[Any] | None = None,
        counter_embeddings: NDArray[Any] | None = None,
        *,
        exemplars: Mapping[str, Sequence[str]] = EXEMPLARS,
        counter_exemplars: Mapping[str, Sequence[str]] = COUNTER_EXEMPLARS,
        min_similarity: float = 0.93,
        margin: float = 0.04,
    ) -> None:
        """Embeddings: rows for ``flatten_exemplars(exemplars)`` and ``(counter_exemplars)``, or None."""
        self.exemplar_texts = flatten_exemplars(exemplars)
        self.counter_texts = flatten_exemplars(counter_exemplars)
        self._requests = _rows(exemplar_embeddings, len(self.exemplar_texts), "exemplar")
        self._counters = _rows(counter_embeddings, len(self.counter_texts), "counter-exemplar")
        if self._counters is not None and self._requests is None:
            raise ValueError("counter-exemplar embeddings need the exemplar embeddings too")
        self.min_similarity = min_similarity
        self.margin = margin

    def detect(self, text: str, embedding: NDArray[Any] | None = None) -> HandoffSignal:
        """The signal for one message; ``embedding`` is its ``query`` embedding, when the caller has it."""
        lexical = _match_phrases(text)
        if lexical is not None and lexical.requested:
            return lexical
        if embedding is None or self._requests is None:
            return lexical or HandoffSignal(False, 0.0, "none", None)
        signal = self.by_similarity(embedding)
        if lexical is not None:  # thanks or a negation: whatever the similarity, nobody is asked for
            return HandoffSignal(False, signal.score, "declined", lexical.matched)
        return signal

    def by_similarity(self, embedding: NDArray[Any]) -> HandoffSignal:
        """The similarity signal alone: near a request exemplar, and nearer to it than to any counter one."""
        if self._requests is None:
            raise ValueError("this detector was made without exemplar embeddings")
        vector = np.asarray(embedding, dtype=np.float64).reshape(-1)
        if vector.shape[0] != self._requests.shape[1]:
            raise ValueError(f"expected a {self._requests.shape[1]}-dim embedding, got {vector.shape[0]}")
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        similarities = self._requests @ vector
        best = int(np.argmax(similarities))
        score = float(similarities[best])
        counter = -1.0 if self._counters is None else float(np.max(self._counters @ vector))
        if score >= self.min_similarity and score - counter >= self.margin:
            return HandoffSignal(True, score, "similar_to_a_request", self.exemplar_texts[best])
        return HandoffSignal(False, score, "none", None)


def _match_phrases(text: str) -> HandoffSignal | None:
    """A request found in some clause; else "declined" when a clause thanks, praises or negates; else None."""
    declined: HandoffSignal | None = None
    for clause in _clauses(text):
        if found := _PATTERNS.bot.search(clause):
            return HandoffSignal(True, 1.0, "refused_the_bot", found.group().strip())
        asked = next((m for p in _PATTERNS.asks if (m := p.search(clause))), None)
        veto = _PATTERNS.veto.search(clause)
        if asked is not None and veto is None:
            return HandoffSignal(True, 1.0, "asked_for_a_person", asked.group().strip())
        if veto is not None and declined is None:
            # Thanks or a negation also keeps the similarity signal from calling it a request.
            declined = HandoffSignal(False, 0.0, "declined", veto.group().strip())
    return declined
