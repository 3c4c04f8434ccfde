"""Words too common to say what a question is about, in English, Hebrew, Persian and Arabic.

Full-text queries OR their terms, so a word like "the" or "של" would otherwise match nearly everything.
Written in ordinary spelling; ``knowledge.fulltext`` normalises them as it does every word.
"""

from __future__ import annotations

__all__ = ["STOPWORDS"]

_ENGLISH = """
a about above after again all also am an and any are as at be been before being below between both but
by can could did do does doing down during each few for from further get got had has have having he her
here hers him his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours out over own please same she should so some such than thank thanks that the
their theirs them then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours hi hello hey want need would like
"""

_HEBREW = """
של את על עם אני אתה את אנחנו אתם אתן הם הן הוא היא זה זו זאת אלה אלו יש אין לא כן מה איך למה מדוע מתי
איפה היכן אם או גם כי רק כל עוד שלי שלך שלו שלה שלנו שלכם לי לך לו לה לנו לכם להם אבל אז כמו אצל אל מן
כבר היה היתה היו להיות יהיה בבקשה תודה שלום היי רוצה רוצים צריך צריכה אפשר יכול יכולה יכולים אותי אותו
אותה אותנו עכשיו הזה הזאת האם מישהו משהו בין אחרי לפני עד
"""

_PERSIAN = """
و در به از که این آن را با برای است هست نیست بود من تو ما شما او آنها ایشان یک تا هم یا اگر چه چی چطور
چگونه کجا کی چرا می خواهم میخواهم باید شود شد کرد کنم کنید کند لطفا سلام ممنون مرسی خیلی هر همه روی
پیش بعد قبل دیگر الان بله نه ولی اما ها های ای
رو یه چطوری میخوام میشه نمیشه دارم داره

"""

_ARABIC = """
في من على إلى الى عن مع هذا هذه ذلك تلك التي الذي الذين هو هي أنا انا نحن أنت انت أنتم هم ما ماذا كيف
متى أين لماذا هل لا نعم أو او و ثم قد كان كانت يكون أريد اريد نريد لي لنا لك لكم لدي عندي فضلك شكرا
مرحبا السلام عليكم كل بعد قبل إن ان أن لم لن يمكن يمكنني ممكن حتى عند
بدي بدنا شو كيفية ليش وين

"""

STOPWORDS: frozenset[str] = frozenset((_ENGLISH + _HEBREW + _PERSIAN + _ARABIC).split())
