#!/usr/bin/python3
"""Writes data/sample/: a small German-English corpus of image-caption-like
sentences, generated from hand-written phrase pairs (this file is their only
source, so the corpus carries the project's licence). Deterministic: the same
seed writes the same bytes. German puts the verb second, so a sentence that
starts with its place ("Im Park spielt ein Junge.") is reordered against the
English ("A boy plays in the park."): attention has something to show.
    scripts/make-sample.py [--out data/sample] [--seed 1]
"""
import argparse
import os
import random

# (German nominative, English, singular?)
SUBJECTS = [
    ("ein Mann", "a man", True), ("eine Frau", "a woman", True), ("ein Junge", "a boy", True),
    ("ein Mädchen", "a girl", True), ("ein Hund", "a dog", True), ("eine alte Frau", "an old woman", True),
    ("ein kleiner Junge", "a little boy", True), ("ein junger Mann", "a young man", True),
    ("zwei Männer", "two men", False), ("zwei Kinder", "two children", False), ("drei Hunde", "three dogs", False),
    ("eine Gruppe von Menschen", "a group of people", True), ("mehrere Frauen", "several women", False),
]
# (German singular, German plural, English singular, English plural)
VERBS = [
    ("läuft", "laufen", "runs", "run"), ("steht", "stehen", "stands", "stand"), ("sitzt", "sitzen", "sits", "sit"),
    ("spielt", "spielen", "plays", "play"), ("wartet", "warten", "waits", "wait"), ("springt", "springen", "jumps", "jump"),
    ("lacht", "lachen", "laughs", "laugh"), ("tanzt", "tanzen", "dances", "dance"),
]
# (German, English); German forms start with a capital when they open the sentence
PLACES = [
    ("auf der Straße", "on the street"), ("im Park", "in the park"), ("am Strand", "on the beach"),
    ("im Wasser", "in the water"), ("vor einem Gebäude", "in front of a building"), ("im Schnee", "in the snow"),
    ("auf einer Bühne", "on a stage"), ("neben einem Auto", "next to a car"), ("auf dem Gras", "on the grass"),
]
WITH = [
    ("mit einem roten Ball", "with a red ball"), ("mit einem blauen Hut", "with a blue hat"),
    ("mit einer Gitarre", "with a guitar"), ("mit einem Fahrrad", "with a bicycle"),
    ("mit einer weißen Tasche", "with a white bag"), ("mit einem grünen Schirm", "with a green umbrella"),
]


def cap(s):
    return s[0].upper() + s[1:]


def pair(rng):
    sde, sen, singular = rng.choice(SUBJECTS)
    vsg, vpl, esg, epl = rng.choice(VERBS)
    vde, ven = (vsg, esg) if singular else (vpl, epl)
    pde, pen = rng.choice(PLACES)
    wde, wen = rng.choice(WITH) if rng.random() < 0.4 else ("", "")
    subj_de = f"{sde} {wde}".strip()
    subj_en = f"{sen} {wen}".strip()
    if rng.random() < 0.5:  # place first: the verb comes second, before the subject
        de = f"{cap(pde)} {vde} {subj_de}."
    else:
        de = f"{cap(subj_de)} {vde} {pde}."
    return de, f"{cap(subj_en)} {ven} {pen}."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="data/sample")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pairs, seen = [], set()
    while len(pairs) < 2400:
        p = pair(rng)
        if p not in seen:
            seen.add(p)
            pairs.append(p)
    os.makedirs(a.out, exist_ok=True)
    for name, part in (("train", pairs[:2000]), ("val", pairs[2000:2200]), ("test", pairs[2200:])):
        for side, lang in ((0, "de"), (1, "en")):
            with open(os.path.join(a.out, f"{name}.{lang}"), "w", encoding="utf-8") as f:
                f.write("".join(p[side] + "\n" for p in part))


if __name__ == "__main__":
    main()
