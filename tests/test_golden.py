"""Literal ids, written down once from tiktoken 0.14.0, so that a regression in both the
engine and the reference (or in how the reference is built) cannot pass unseen."""

import pytest

import tokenomix

TEXTS = [
    "hello world",
    "Hello, World! 123456789",
    "I'm   don't \n\n\tdef f():\n    return 1",
    "नमस्ते お誕生日おめでとう 👍🏽",
    "<|endoftext|>",
]

GOLDEN = {
    "r50k_base": [
        [31373, 995],
        [15496, 11, 2159, 0, 17031, 2231, 3134, 4531],
        [40, 1101, 220, 220, 836, 470, 220, 628, 197, 4299, 277, 33529, 198, 220, 220, 220,
         1441, 352],
        [11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229, 23294, 232,
         45739, 243, 37955, 33768, 98, 2515, 232, 1792, 223, 30640, 30201, 29557, 50169, 235,
         8582, 237, 121],
        [27, 91, 437, 1659, 5239, 91, 29],
    ],
    "p50k_base": [
        [31373, 995],
        [15496, 11, 2159, 0, 17031, 2231, 3134, 4531],
        [40, 1101, 50257, 836, 470, 220, 628, 197, 4299, 277, 33529, 198, 50258, 1441, 352],
        [11976, 101, 11976, 106, 11976, 116, 24231, 235, 11976, 97, 24231, 229, 23294, 232,
         45739, 243, 37955, 33768, 98, 2515, 232, 1792, 223, 30640, 30201, 29557, 50169, 235,
         8582, 237, 121],
        [27, 91, 437, 1659, 5239, 91, 29],
    ],
    "cl100k_base": [
        [15339, 1917],
        [9906, 11, 4435, 0, 220, 4513, 10961, 16474],
        [40, 2846, 256, 1541, 956, 4815, 7604, 282, 4019, 262, 471, 220, 16],
        [61196, 88344, 79468, 31584, 97, 35470, 220, 33334, 45918, 243, 21990, 9080, 33334,
         62004, 16556, 78699, 62904, 235, 9468, 237, 121],
        [27, 91, 8862, 728, 428, 91, 29],
    ],
    "o200k_base": [
        [24912, 2375],
        [13225, 11, 5922, 0, 220, 7633, 19354, 29338],
        [15390, 256, 4128, 1202, 23154, 285, 8595, 271, 622, 220, 16],
        [998, 1637, 14681, 628, 49017, 9697, 243, 128225, 8930, 17693, 4344, 48669, 160433,
         52622, 121],
        [27, 91, 419, 1440, 919, 91, 29],
    ],
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_ids(name):
    encoding = tokenomix.get_encoding(name)
    assert [encoding.encode_ordinary(t) for t in TEXTS] == GOLDEN[name]
    assert [encoding.count(t) for t in TEXTS] == [len(ids) for ids in GOLDEN[name]]


@pytest.mark.parametrize(
    ("name", "eot"),
    [("gpt2", 50256), ("r50k_base", 50256), ("p50k_base", 50256), ("cl100k_base", 100257),
     ("o200k_base", 199999), ("o200k_harmony", 199999)],
)
def test_special_token_ids(name, eot):
    encoding = tokenomix.get_encoding(name)
    assert encoding.encode("<|endoftext|>", allowed_special="all") == [eot]
    assert encoding.eot_token == eot
