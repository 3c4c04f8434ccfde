"""The demo's content: believable customers in Hebrew, Persian, Arabic and English, and the team serving them.

Times are minutes before the moment the demo is loaded, so the data always looks fresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACCOUNTS",
    "AGENTS",
    "CUSTOMERS",
    "ORGANISATIONS",
    "SLA_TIERS",
    "AgentSpec",
    "AgreementSpec",
    "CaseSpec",
    "ConversationSpec",
    "CustomerSpec",
    "Msg",
]

DAY = 24 * 60

# Our own number, bot, mailbox and WhatsApp phone-number id on each channel.
ACCOUNTS = {
    "api": "default",
    "twilio_sms": "+14155550100",
    "whatsapp_cloud": "104598237165432",
    "telegram": "switchboard_demo_bot",
    "email": "support@switchboard.example",
    "twilio_voice": "+14155550100",
}

# name: (first response seconds, resolution seconds, description)
SLA_TIERS = {
    "standard": (8 * 3600, 5 * 86400, "Business hours; answer within 8 hours, resolve within 5 days"),
    "priority": (3600, 86400, "Answer within 1 hour, resolve within 1 day"),
    "premium": (15 * 60, 8 * 3600, "24/7; answer within 15 minutes, resolve within 8 hours"),
}

ORGANISATIONS = {
    "galil": "Galil Logistics Ltd (גליל לוגיסטיקה בע״מ)",
    "alnoor": "Al Noor Trading LLC (شركة النور للتجارة)",
    "pardis": "Pardis Print House (چاپخانه پردیس)",
}


@dataclass(frozen=True, slots=True)
class AgentSpec:
    key: str
    name: str
    email: str
    role: str
    languages: tuple[str, ...]
    skills: tuple[tuple[str, int], ...]
    teams: tuple[str, ...]


AGENTS = (
    AgentSpec("admin", "Switchboard Admin", "admin@switchboard.example", "admin", ("en", "he"), (), ()),
    AgentSpec(
        "michal", "Michal Ben-David", "michal@switchboard.example", "supervisor", ("he", "en"),
        (("billing", 3), ("fleet", 2)), ("Israel", "Billing"),
    ),
    AgentSpec(
        "avi", "Avi Peretz", "avi@switchboard.example", "agent", ("he", "en"),
        (("fleet", 3), ("technical", 2)), ("Israel",),
    ),
    AgentSpec(
        "shirin", "Shirin Moradi", "shirin@switchboard.example", "agent", ("fa", "en"),
        (("backup", 3), ("billing", 2)), ("MENA",),
    ),
    AgentSpec(
        "omar", "Omar Khalil", "omar@switchboard.example", "agent", ("ar", "he", "en"),
        (("fleet", 2), ("billing", 3)), ("MENA", "Billing"),
    ),
    AgentSpec(
        "jessica", "Jessica Miller", "jessica@switchboard.example", "agent", ("en",),
        (("backup", 2), ("sales", 3), ("technical", 2)), ("North America",),
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Msg:
    minutes_ago: int
    direction: str
    text: str
    agent: str | None = None
    kind: str = "message"
    delivery_status: str | None = None
    details: dict[str, Any] | None = None


def _in(minutes_ago: int, text: str) -> Msg:
    return Msg(minutes_ago, "in", text)


def _out(minutes_ago: int, text: str, agent: str, status: str = "read") -> Msg:
    return Msg(minutes_ago, "out", text, agent, delivery_status=status)


def _note(minutes_ago: int, text: str, agent: str) -> Msg:
    return Msg(minutes_ago, "internal", text, agent, kind="note")


def _call(minutes_ago: int, status: str, text: str | None = None, **facts: Any) -> Msg:
    """A step of a phone call (ringing, queued, completed...), as the phone channel records it."""
    return Msg(minutes_ago, "in", text or "", kind="call", details={"call_status": status, **facts})


def _resolved(minutes_ago: int, agent: str) -> Msg:
    return Msg(minutes_ago, "internal", "Conversation resolved", agent, kind="status_change")


@dataclass(frozen=True, slots=True)
class ConversationSpec:
    channel: str
    subject: str
    status: str
    messages: tuple[Msg, ...]
    assignee: str | None = None
    team: str | None = None
    priority: int = 0
    tags: tuple[str, ...] = ()
    csat: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class AgreementSpec:
    product: str
    sla_tier: str
    entitlements: tuple[str, ...]
    payment_plan: str
    payment_status: str
    started_days_ago: int
    ends_in_days: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSpec:
    type: str
    step: str
    priority: str
    title: str
    opened_minutes_ago: int
    due_in_hours: int | None
    conversation: int | None = 0
    status: str = "open"


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    name: str
    language: str
    email: str | None
    phone: str | None
    identities: tuple[tuple[str, str], ...]
    conversations: tuple[ConversationSpec, ...] = ()
    agreements: tuple[AgreementSpec, ...] = ()
    cases: tuple[CaseSpec, ...] = ()
    tags: tuple[str, ...] = ()
    organisation: str | None = None
    # Organisation-wide agreements are listed on the organisation's first customer.
    organisation_agreements: tuple[AgreementSpec, ...] = ()


_FLEET_PRO_GALIL = AgreementSpec(
    "Fleet Tracker Pro", "premium",
    ("24/7 phone support", "dedicated account manager", "2 on-site visits a year", "40 vehicle units"),
    "annual", "current", 400, 330,
)  # fmt: skip
_FLEET_PRO_ALNOOR = AgreementSpec(
    "Fleet Tracker Pro", "priority",
    ("business-hours phone support", "25 vehicle units", "monthly usage report"),
    "quarterly", "suspended", 250,
)  # fmt: skip
_BACKUP_1TB = ("1 TB storage", "daily snapshots", "30-day retention")

CUSTOMERS = (
    CustomerSpec(
        "נועה לוי", "he", "noa.levi@example.com", "+972525550142",
        (("whatsapp_cloud", "972525550142"), ("twilio_sms", "+972525550142"),
         ("email", "noa.levi@example.com")),
        organisation="galil", organisation_agreements=(_FLEET_PRO_GALIL,), tags=("vip", "fleet"),
        conversations=(
            ConversationSpec("whatsapp_cloud", "יחידת המעקב ברכב 14 לא משדרת", "open", (
                _in(180, "בוקר טוב, היחידה ברכב 14 לא משדרת מיקום מאז 06:00. הנהג כבר בדרך לאילת."),
                _out(170, "בוקר טוב נועה, אני בודק עכשיו. אפשר לוודא שהנורית במכשיר דולקת?", "avi"),
                _in(160, "הנהג אומר שהנורית מהבהבת באדום."),
                _note(150, "נורית אדומה = אין קליטה סלולרית. לבדוק "
                           "את כרטיס ה-SIM מול הספק לפני טכנאי.", "avi"),
                _out(140, "תודה. פתחתי בדיקה של כרטיס ה-SIM מול הספק, אעדכן תוך שעה.", "avi", "delivered"),
            ), assignee="avi", team="Israel", priority=2, tags=("fleet",)),
            ConversationSpec("email", "העתק חשבונית אוקטובר", "resolved", (
                _in(7 * DAY, "שלום, אפשר לקבל העתק של חשבונית אוקטובר? צריך אותה להנהלת החשבונות."),
                _out(7 * DAY - 40, "בוודאי נועה, שלחתי את החשבונית לכתובת המייל שלך.", "michal"),
                _in(7 * DAY - 55, "קיבלתי, תודה רבה!"),
                _resolved(7 * DAY - 60, "michal"),
            ), assignee="michal", team="Billing", tags=("billing",), csat=(5, "שירות מהיר ואדיב")),
        ),
        cases=(
            CaseSpec("device_fault", "sim_check", "high", "רכב 14 – יחידה לא משדרת", 150, 8),
            CaseSpec("invoice_copy", "done", "low", "העתק חשבונית אוקטובר", 7 * DAY, None, 1, "resolved"),
        ),
    ),
    CustomerSpec(
        "יוסי כהן", "he", None, "+972505550178",
        (("telegram", "805550178"), ("twilio_sms", "+972505550178")),
        organisation="galil", tags=("fleet",),
        conversations=(
            ConversationSpec("twilio_sms", "התקנה במשאיות החדשות", "pending", (
                _in(26 * 60, "היי, מתי מגיעות היחידות לשלוש המשאיות החדשות?"),
                _out(25 * 60, "שלום יוסי, המשלוח יוצא ביום ראשון "
                              "ויגיע עד שלישי. מתאים לך להתקנה ברביעי?", "avi"),
            ), assignee="avi", team="Israel"),
        ),
        cases=(
            CaseSpec("installation", "scheduling", "normal", "התקנת 3 יחידות במשאיות חדשות", 25 * 60, 96),
        ),
    ),
    CustomerSpec(
        "مریم احمدی", "fa", "maryam.ahmadi@example.com", "+989125550188",
        (("telegram", "6455550188"), ("whatsapp_cloud", "989125550188"),
         ("email", "maryam.ahmadi@example.com")),
        tags=("backup", "billing", "churn-risk"),
        agreements=(AgreementSpec("Cloud Backup 1TB", "standard", _BACKUP_1TB, "monthly", "overdue", 540),),
        conversations=(
            ConversationSpec("telegram", "پشتیبان‌گیری شبانه انجام نشد", "open", (
                _in(300, "سلام، پشتیبان‌گیری دیشب انجام نشد و پیام خطا می‌دهد."),
                _out(290, "سلام مریم خانم، لطفاً متن پیام خطا را برای من بفرستید.", "shirin"),
                _in(280, "نوشته: «فضای ذخیره‌سازی در دسترس نیست»."),
                _note(275, "حساب به‌خاطر پرداخت معوق فقط‌خواندنی شده؛ با واحد مالی هماهنگ شود.", "shirin"),
                _out(270, "مشکل از وضعیت پرداخت حساب است. لینک پرداخت "
                          "را می‌فرستم تا سرویس دوباره فعال شود.", "shirin"),
            ), assignee="shirin", team="MENA", priority=1, tags=("backup",)),
        ),
        cases=(
            CaseSpec("billing", "payment_link_sent", "normal", "پرداخت معوق؛ پشتیبان‌گیری متوقف", 270, 120),
        ),
    ),
    CustomerSpec(
        "رضا کریمی", "fa", None, "+989355550117",
        (("twilio_sms", "+989355550117"), ("api", "reza.karimi")),
        organisation="pardis", tags=("backup",),
        agreements=(
            AgreementSpec("Cloud Backup 250GB", "standard", ("250 GB storage", "daily snapshots"), "monthly",
                          "current", 200),
        ),
        conversations=(
            ConversationSpec("api", "بازیابی فایل از نسخهٔ پشتیبان", "resolved", (
                _in(3 * DAY, "سلام، چطور می‌توانم یک فایل را از نسخهٔ پشتیبان هفتهٔ گذشته بازیابی کنم؟"),
                _out(3 * DAY - 25, "سلام آقای کریمی، از منوی «بازیابی» "
                                   "تاریخ را انتخاب و فایل را علامت بزنید.", "shirin"),
                _in(3 * DAY - 40, "انجام شد، ممنون از راهنمایی‌تان!"),
                _resolved(3 * DAY - 45, "shirin"),
            ), assignee="shirin", team="MENA", csat=(5, "خیلی سریع جواب دادید")),
        ),
    ),
    CustomerSpec(
        "فاطمة الزهراء", "ar", "fatima@alnoor-trading.example", "+971505550163",
        (("whatsapp_cloud", "971505550163"), ("email", "fatima@alnoor-trading.example")),
        organisation="alnoor", organisation_agreements=(_FLEET_PRO_ALNOOR,), tags=("vip", "fleet", "billing"),
        conversations=(
            ConversationSpec("whatsapp_cloud", "إعادة تفعيل خدمة التتبع", "open", (
                _in(95, "مرحباً، تم إيقاف خدمة التتبع لجميع مركباتنا منذ الصباح. نحتاج إعادة التفعيل فوراً."),
                _out(90, "مرحباً فاطمة، الخدمة موقوفة بسبب فاتورة "
                         "الربع الماضي. هل يمكنكم تأكيد موعد الدفع؟", "omar"),
                _in(80, "تم التحويل البنكي أمس، سأرسل لك إيصال التحويل الآن."),
                _note(75, "بانتظار الإيصال؛ إذا تأكد الدفع نعيد التفعيل يدوياً دون انتظار التسوية.", "omar"),
            ), assignee="omar", team="MENA", priority=3, tags=("billing",)),
        ),
        cases=(
            CaseSpec("reactivation", "awaiting_receipt", "urgent", "إعادة تفعيل حساب شركة النور", 90, 24),
        ),
    ),
    CustomerSpec(
        "خالد المنصوري", "ar", None, "+971555550109",
        (("telegram", "7015550109"), ("twilio_sms", "+971555550109")),
        organisation="alnoor",
        conversations=(
            ConversationSpec("telegram", "إضافة مستخدم إلى لوحة التحكم", "pending", (
                _in(DAY + 60, "هل يمكن إضافة مستخدم جديد إلى لوحة التحكم لمدير الأسطول؟"),
                _out(DAY + 40, "بالتأكيد يا خالد، أرسل لي اسمه وبريده الإلكتروني وسأضيفه.", "omar"),
            ), assignee="omar", team="MENA"),
        ),
    ),
    CustomerSpec(
        "Emily Carter", "en", "emily.carter@example.com", "+14155550134",
        (("email", "emily.carter@example.com"), ("twilio_sms", "+14155550134"), ("api", "emily-carter"),
         ("twilio_voice", "+14155550134")),
        tags=("vip", "renewal"),
        agreements=(
            AgreementSpec("Helpdesk Suite", "priority", ("phone and chat support", "15 agent seats", "SSO"),
                          "annual", "current", 345, 20),
        ),
        conversations=(
            ConversationSpec("twilio_sms", "Renewal and premium tier", "open", (
                _in(35, "Hi, our renewal is coming up. Could someone walk me through the premium tier?"),
            ), team="North America", priority=1),
            ConversationSpec("twilio_voice", "Phone call", "open", (
                _call(6, "ringing", direction="inbound"),
                _in(5, "I'd like to upgrade to premium before our renewal, can someone call me back today?"),
                _call(5, "queued", queue="support", reason="no confident answer"),
            ), team="North America", priority=1),
            ConversationSpec("email", "Adding five more seats", "resolved", (
                _in(2 * DAY, "Hi, we're onboarding five new reps next week. Can we add seats mid-term?"),
                _out(2 * DAY - 30, "Hi Emily, yes: seats added mid-term are prorated to your renewal date. "
                                   "I've sent a quote for five seats.", "jessica"),
                _in(2 * DAY - 90, "Perfect, approved. Thanks Jessica!"),
                _resolved(2 * DAY - 95, "jessica"),
            ), assignee="jessica", team="North America", tags=("billing",),
               csat=(4, "Quick and clear. Self-service seat changes would be nice.")),
        ),
        cases=(
            CaseSpec("renewal", "quote_sent", "normal", "Helpdesk Suite renewal: upgrade to premium", 30, 72),
        ),
    ),
    CustomerSpec(
        "Daniel Brooks", "en", "d.brooks@example.com", "+12125550187",
        (("api", "dbrooks-4471"), ("twilio_sms", "+12125550187")),
        tags=("backup", "churn-risk"),
        agreements=(AgreementSpec("Cloud Backup 1TB", "standard", _BACKUP_1TB, "monthly", "overdue", 120),),
        conversations=(
            ConversationSpec("api", "Restore stuck at 43%", "open", (
                _in(45, "My restore has been stuck at 43% for two "
                        "hours. I need these files for a 3pm meeting."),
                _out(40, "Sorry about that, Daniel. I'm escalating "
                         "this to our storage team right now.", "jessica"),
                _note(38, "Restore job RJ-88121 stalled on node bk-7, "
                          "escalated to tier 2. Account is overdue: "
                          "do not suspend before the restore completes.", "jessica"),
                _in(10, "Any news? The meeting is in an hour."),
            ), assignee="jessica", team="North America", priority=2, tags=("backup",)),
            ConversationSpec("twilio_sms", "Payment reminder", "open", (
                _out(2 * DAY, "Hi Daniel, your Cloud Backup invoice is "
                              "10 days overdue. Reply HELP for options.",
                     "jessica", "failed"),
            ), assignee="jessica", team="North America"),
        ),
        cases=(
            CaseSpec("technical", "escalated_to_tier2", "high", "Restore stuck at 43% (RJ-88121)", 38, 24),
        ),
    ),
    CustomerSpec(
        "سمير حداد", "ar", None, "+972545550121",
        (("whatsapp_cloud", "972545550121"), ("twilio_sms", "+972545550121")),
        tags=("fleet",),
        agreements=(
            AgreementSpec("Fleet Tracker Basic", "standard", ("email support", "5 vehicle units"), "monthly",
                          "current", 800),
        ),
        conversations=(
            ConversationSpec("whatsapp_cloud", "تغيير رقم تنبيهات السرعة", "closed", (
                _in(10 * DAY, "مرحبا، كيف أغير رقم الهاتف الذي تصله تنبيهات السرعة؟"),
                _out(10 * DAY - 180, "أهلاً سمير، من الإعدادات ← التنبيهات "
                                     "← جهات الاتصال. أرسلت لك الخطوات.", "omar"),
                _in(10 * DAY - 200, "تمام، شكراً"),
                _resolved(10 * DAY - 210, "omar"),
            ), assignee="omar", team="MENA", csat=(3, "الرد كان بطيئاً قليلاً")),
        ),
    ),
    CustomerSpec(
        "سارا رحیمی (Sara Rahimi)", "fa", "sara.rahimi@example.com", "+13105550176",
        (("telegram", "5125550176"), ("email", "sara.rahimi@example.com")),
        tags=("lead",),
        conversations=(
            ConversationSpec("telegram", "Backup for a 10-person office", "open", (
                _in(12, "Hi! سلام، قیمت پلن پشتیبان‌گیری برای یک دفتر ۱۰ نفره چقدر است؟"),
                Msg(11, "out", "Thanks Sara! Cloud Backup starts at "
                               "$9/month for 250 GB. A colleague will send "
                               "an office quote shortly.", kind="bot_turn", delivery_status="read"),
            ), team="MENA", tags=("lead",)),
        ),
    ),
)  # fmt: skip
