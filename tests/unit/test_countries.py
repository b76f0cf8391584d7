"""The phone form's country list: English alphabetical, Chinese in pinyin order with the names mainland readers use."""

from __future__ import annotations

import re
from pathlib import Path

from babel import Locale

from portal.countries import CHINESE_NAMES, PINYIN_ORDER, choices, is_han, names
from tests.conftest import missing_service

# glibc's zh_CN collation (LC_COLLATE copies this file): Han characters in pinyin order, one line each.
GLIBC_PINYIN = Path("/usr/share/i18n/locales/iso14651_t1_pinyin")
# Characters whose reading in these names is not the one glibc sorts them by, and a character of that reading.
SORT_AS = {"朝": "潮", "秘": "必", "都": "督", "兹": "资"}
ZH, EN = Locale.parse("zh_Hans"), Locale.parse("en")


def glibc_order() -> list[str]:
    if not GLIBC_PINYIN.is_file():
        missing_service(f"glibc's locale data ({GLIBC_PINYIN}, Debian package locales)")
    line = re.compile(r"<U([0-9A-F]{4,5})> <U\1>;IGNORE;IGNORE;IGNORE")
    found = (line.match(text) for text in GLIBC_PINYIN.read_text(encoding="utf-8").splitlines())
    return [chr(int(match.group(1), 16)) for match in found if match]


def chinese_characters() -> set[str]:
    return {char for name in names(ZH).values() for char in name if is_han(char)}


def labels(locale: Locale) -> list[str]:
    return [label.rsplit(" (+", 1)[0] for _code, label in choices(locale)]


def test_the_pinyin_string_holds_every_character_of_the_chinese_names_once():
    assert len(set(PINYIN_ORDER)) == len(PINYIN_ORDER)
    missing = chinese_characters() - set(PINYIN_ORDER)
    assert missing == set(), f"add {''.join(sorted(missing))} to PINYIN_ORDER (see test_the_pinyin_string_is_glibc_s)"


def test_the_pinyin_string_is_glibc_s_zh_cn_order():
    rank = {char: index for index, char in enumerate(glibc_order())}
    derived = "".join(sorted(chinese_characters(), key=lambda char: rank[SORT_AS.get(char, char)]))
    assert derived == PINYIN_ORDER, f"PINYIN_ORDER should be {derived!r}"


def test_chinese_names_are_the_ones_tencent_cloud_lists():
    shown = dict((code, label) for code, label in choices(ZH))
    assert shown["HK"] == "中国香港 (+852)"
    assert shown["MO"] == "中国澳门 (+853)"
    assert shown["TW"] == "中国台湾 (+886)"
    assert shown["CN"] == "中国 (+86)"
    assert not any("特别行政区" in label for label in shown.values())
    assert set(CHINESE_NAMES) == {"HK", "MO", "TW"}  # every other name is CLDR's (through Babel)


def test_chinese_is_in_pinyin_order():
    order = labels(ZH)
    assert order[:4] == ["阿尔巴尼亚", "阿尔及利亚", "阿富汗", "阿根廷"]
    assert order[-4:] == ["中国", "中国澳门", "中国台湾", "中国香港"]
    for earlier, later in [("比利时", "秘鲁"), ("秘鲁", "冰岛"),  # 秘鲁 is Bìlǔ, not mì
                           ("布隆迪", "朝鲜"), ("朝鲜", "赤道几内亚"),  # 朝鲜 is Cháoxiǎn, not zhāo
                           ("黑山", "洪都拉斯"),  # 都 is dū
                           ("巴拉圭", "巴勒斯坦领土"), ("巴林", "巴拿马"),  # ba-la < ba-le < ba-lin
                           ("乌拉圭", "乌兹别克斯坦"),  # 兹 is zī
                           ("刚果（布）", "刚果（金）"), ("喀麦隆", "卡塔尔"), ("蒙古", "孟加拉国"),
                           ("阿塞拜疆", "埃及"), ("英国", "约旦"), ("乍得", "中国")]:
        assert order.index(earlier) < order.index(later), (earlier, later)


def test_english_is_alphabetical_whatever_the_accents():
    order = labels(EN)
    assert order[:3] == ["Afghanistan", "Åland Islands", "Albania"]
    assert order.index("Costa Rica") < order.index("Côte d’Ivoire") < order.index("Croatia")
    assert order.index("Curaçao") < order.index("Cyprus")
    assert order.index("Réunion") < order.index("Romania")
    assert order[-1] == "Zimbabwe"
    assert order.index("Tunisia") < order.index("Türkiye") < order.index("Turkmenistan")
    plain = [name for name in order if name.isascii()]
    assert plain == sorted(plain, key=str.casefold)
