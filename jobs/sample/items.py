"""Item metadata for the sample world: titles ("The Silent Harbor (1987)"), genres and a short description built
from genre and cluster words, so content-based models have something real to find.

The words follow the catalogue of ``jobs.sample.world`` (same seed, same clusters), so text agrees with ratings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobs.sample.world import _COMPANIONS, _GENRE_NAMES, _N_THEMES, _make_catalog

# Description vocabulary: what the genre is called, and words that come with it.
_GENRE_TEXT: dict[str, tuple[str, tuple[str, ...]]] = {
    "Action": ("action film", ("explosive", "chase", "mercenary", "showdown", "firepower", "stunts", "rescue", "revenge")),
    "Adventure": ("adventure", ("quest", "expedition", "treasure", "journey", "jungle", "voyage", "map", "explorer")),
    "Animation": ("animated feature", ("hand-drawn", "colorful", "talking", "cartoon", "whimsical", "stop-motion", "puppets", "animated")),
    "Children": ("family film", ("kids", "friendship", "puppy", "school", "holiday", "toys", "playful", "siblings")),
    "Comedy": ("comedy", ("hilarious", "witty", "slapstick", "awkward", "satire", "pranks", "quirky", "misadventures")),
    "Crime": ("crime story", ("gangster", "detective", "heist", "mob", "corrupt", "robbery", "underworld", "cartel")),
    "Documentary": ("documentary", ("interviews", "archival", "investigation", "nature", "history", "portrait", "real-life", "footage")),
    "Drama": ("drama", ("grief", "redemption", "ambition", "struggle", "intimate", "tragedy", "marriage", "forgiveness")),
    "Fantasy": ("fantasy", ("wizard", "dragon", "enchanted", "kingdom", "sorcery", "prophecy", "elves", "spell")),
    "Film-Noir": ("film noir", ("shadowy", "femme-fatale", "private-eye", "cynical", "rain-soaked", "double-cross", "nightclub", "alibi")),
    "Horror": ("horror film", ("haunted", "terrifying", "demon", "gore", "possessed", "slasher", "cursed", "nightmare")),
    "Musical": ("musical", ("songs", "dance", "broadway", "singing", "stage", "melody", "choreography", "band")),
    "Mystery": ("mystery", ("clues", "whodunit", "secret", "disappearance", "riddle", "suspect", "puzzle", "inheritance")),
    "Romance": ("romance", ("love", "passion", "wedding", "heartbreak", "longing", "affair", "sweetheart", "romantic")),
    "Sci-Fi": ("science-fiction film", ("alien", "spaceship", "robot", "dystopian", "time-travel", "galaxy", "android", "future")),
    "Thriller": ("thriller", ("suspense", "conspiracy", "assassin", "hostage", "paranoid", "tense", "pursuit", "spy")),
    "War": ("war film", ("soldiers", "battle", "platoon", "frontline", "occupation", "resistance", "wartime", "siege")),
    "Western": ("western", ("cowboy", "frontier", "outlaw", "sheriff", "ranch", "saloon", "gunslinger", "desert")),
}  # fmt: skip

# Cluster themes: each taste cluster gets a few; descriptions mention two, so text separates clusters too.
_THEMES = (
    "a lighthouse keeper", "two estranged brothers", "a small mining town", "a lost letter", "a traveling circus",
    "a retired boxer", "an island village", "a night train", "a failing restaurant", "a chess prodigy",
    "a border town", "a stolen painting", "a rival family", "a jazz club", "a forgotten war hero", "a fishing crew",
    "an old hotel", "a runaway teenager", "a country doctor", "a radio station", "a mountain rescue team",
    "a struggling band", "a secret society", "a widowed farmer", "a city newspaper", "an abandoned factory",
    "a boarding school", "a desert highway", "an ocean liner", "a royal court", "a suburban street",
    "a research station", "a championship season", "a fading movie star", "a prison break", "a haunted inn",
)
_ADJECTIVES = (
    "Silent", "Broken", "Last", "Hidden", "Golden", "Crimson", "Forgotten", "Endless", "Wild", "Dark", "Lonely",
    "Burning", "Frozen", "Distant", "Secret", "Stolen", "Restless", "Hollow", "Bright", "Midnight", "Savage",
    "Gentle", "Electric", "Velvet", "Iron", "Paper", "Glass", "Shattered", "Lucky", "Bitter", "Quiet", "Final",
    "Northern", "Eternal", "Fallen", "Rising", "Wandering", "Little", "Grand", "Scarlet",
)
_NOUNS = (
    "Harbor", "River", "Kingdom", "Promise", "Garden", "Horizon", "Empire", "Shadow", "Storm", "Road", "Bridge",
    "City", "Island", "Letter", "Station", "Mirror", "Frontier", "Summer", "Winter", "Forest", "Heart", "Game",
    "Machine", "Voyage", "Legacy", "Hunter", "Witness", "Orchard", "Signal", "Crown", "Desert", "Tide", "Compass",
    "Engine", "Lantern", "Valley", "Canyon", "Ocean", "Stranger", "Season", "Ghost", "Dream", "Fortune", "Thief",
)
# The world draws theme indexes below _N_THEMES; a different count here would shift or break every description.
assert len(_THEMES) == _N_THEMES


def generate_items(n_items: int, seed: int = 42) -> pd.DataFrame:
    """Item metadata (item_id, title, genres '|'-separated, description) for the same world as the ratings."""
    catalog = _make_catalog(n_items, seed)
    rng = np.random.default_rng([seed, 4])
    cluster = catalog.cluster
    genre = catalog.cluster_genre[cluster]
    companion = catalog.cluster_companion[cluster]
    with_companion = rng.random(n_items) < 0.6
    table = np.zeros((len(_GENRE_NAMES), 5), dtype=np.int64)  # genre -> its companions (padded)
    n_companions = np.array([len(_COMPANIONS[g]) for g in _GENRE_NAMES])
    for g, name in enumerate(_GENRE_NAMES):
        table[g, : n_companions[g]] = [_GENRE_NAMES.index(c) for c in _COMPANIONS[name]]
    third_genre = table[genre, (rng.random(n_items) * n_companions[genre]).astype(np.int64)]
    with_third = rng.random(n_items) < 0.25
    adjective = rng.integers(0, len(_ADJECTIVES), (n_items, 2))
    noun = rng.integers(0, len(_NOUNS), (n_items, 2))
    pattern = rng.integers(0, 5, n_items)
    words = np.argsort(rng.random((n_items, 8)), axis=1)[:, :4]  # four distinct word positions
    theme = catalog.cluster_themes[cluster][np.arange(n_items)[:, None], np.argsort(rng.random((n_items, 4)), axis=1)[:, :2]]
    titles, genres, descriptions = [], [], []
    for i in range(n_items):  # one loop per item (not per rating) to format strings
        a1, a2 = _ADJECTIVES[adjective[i, 0]], _ADJECTIVES[adjective[i, 1]]
        n1, n2 = _NOUNS[noun[i, 0]], _NOUNS[noun[i, 1]]
        name = (f"The {a1} {n1}", f"{a1} {n1}", f"{n1} of the {a2} {n2}", f"The {n1}'s {n2}", f"{a1} {n1}, {a2} {n2}")[pattern[i]]
        titles.append(f"{name} ({catalog.year[i]})")
        names = [_GENRE_NAMES[genre[i]]]
        if with_companion[i]:
            names.append(_GENRE_NAMES[companion[i]])
        if with_third[i]:
            names.append(_GENRE_NAMES[third_genre[i]])
        names = list(dict.fromkeys(names))
        genres.append("|".join(names))
        kind, vocab = _GENRE_TEXT[names[0]]
        extra_vocab = _GENRE_TEXT[names[1]][1] if len(names) > 1 else vocab
        article = "An" if kind[0] in "aeiou" else "A"
        descriptions.append(
            f"{article} {kind} about {_THEMES[theme[i, 0]]} and {_THEMES[theme[i, 1]]}, "
            f"with {vocab[words[i, 0]]}, {vocab[words[i, 1]]}, {vocab[words[i, 2]]} and {extra_vocab[words[i, 3]]}."
        )
    return pd.DataFrame(
        {"item_id": np.arange(1, n_items + 1, dtype=np.int64), "title": titles, "genres": genres, "description": descriptions}
    )
