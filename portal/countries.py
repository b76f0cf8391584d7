"""The phone form's country list: names in the page's language, in the order its readers expect.

English (and any other alphabet) is alphabetical, accents and case aside. Chinese is in pinyin order, as
Chinese lists are. Neither Babel nor the standard library can collate Chinese, and no dependency is added
for one list: PINYIN_ORDER holds every character of the Chinese names in the order of glibc's zh_CN
collation (iso14651_t1_pinyin, GNU C Library locale data), so names compare character by character as
that collation compares them. tests/unit/test_countries.py derives the string again from glibc's file and
fails when a name (a new Babel, a new region) has a character the string lacks.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from babel import Locale

from portal.phone import regions

# The names a mainland reader expects, as Tencent Cloud's console lists them: not CLDR's
# 中国香港特别行政区, 中国澳门特别行政区 and 台湾.
CHINESE_NAMES = {"HK": "中国香港", "MO": "中国澳门", "TW": "中国台湾"}

# Every Han character of the Chinese names, in pinyin order (glibc's zh_CN collation). glibc places each
# character once, at its commonest reading; four read otherwise in these names and stand where that reading
# sorts: 朝 (朝鲜, cháo), 秘 (秘鲁, bì), 都 (洪都拉斯, dū), 兹 (伯利兹, 乌兹别克斯坦, zī). See SORT_AS in the test.
PINYIN_ORDER = (
    "阿埃爱安昂奥澳巴白百拜班保堡北贝本比秘别宾冰波玻伯博泊不埔布长朝赤茨达大代丹旦诞岛道得德登迪地帝蒂典甸丁东"
    "都度敦顿多俄厄恩尔耳伐法梵菲非斐芬佛夫福富干冈刚港哥格各根共古瓜关圭国果哈海韩汗合和荷赫黑洪基及吉几济加柬疆"
    "角捷津金京喀卡开凯科克肯库拉腊来莱兰朗劳老勒黎里利力立联列林陵领留隆卢鲁路伦罗洛律马买麦曼毛美门蒙孟米密缅"
    "摩墨莫慕拿纳那南瑙内嫩尼宁纽努挪诺帕蓬皮坡葡普浦其求酋区群日瑞撒萨塞桑色森沙山绍舌圣时士属斯松苏所索他塔台"
    "泰坦汤萄陶特提廷突图土托脱陀瓦湾宛汪旺危威维韦委文汶挝沃乌希西鲜香新匈叙牙亚延扬洋也伊以意印英约越赞泽乍寨"
    "支直智中兹"
)
_RANK = {char: index for index, char in enumerate(PINYIN_ORDER)}


def is_han(char: str) -> bool:
    return unicodedata.category(char) == "Lo" and "CJK" in unicodedata.name(char, "")


def pinyin_key(name: str) -> tuple[int, ...]:
    """Sort key of a Chinese name: its Han characters' places in PINYIN_ORDER (punctuation is not compared,
    as in glibc's collation); a character missing from the string sorts after every known one."""
    return tuple(_RANK.get(char, len(_RANK) + ord(char)) for char in name if is_han(char))


def alphabetic_key(name: str) -> str:
    """Sort key of a name in an alphabet: without accents, case-folded (Åland Islands goes with the A's)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def names(locale: Locale | None) -> dict[str, str]:
    """Every region phonenumbers knows (ISO code → name in locale's language; the code if it has none)."""
    territories = locale.territories if locale is not None else {}
    chinese = locale is not None and locale.language == "zh"
    return {code: (CHINESE_NAMES.get(code) if chinese else None) or territories.get(code, code)
            for code in regions() if code != "001"}


def choices(locale: Locale | None) -> list[tuple[str, str]]:
    """(code, "China (+86)") for every region, in the order of locale's language."""
    named = names(locale)
    if locale is not None and locale.language == "zh":
        order = sorted(named, key=lambda code: (pinyin_key(named[code]), named[code], code))
    else:
        order = sorted(named, key=lambda code: (alphabetic_key(named[code]), named[code], code))
    return [(code, f"{named[code]} (+{phonenumbers.country_code_for_region(code)})") for code in order]
