"""The four MUSDB roles and the file-name role guesser for DAW exports."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Hashable, Iterable, Literal, Sequence

Role = Literal["vocals", "drums", "bass", "other"]
ROLES: tuple[Role, ...] = ("vocals", "drums", "bass", "other")
#: Roles the advice may target or anchor on (the paper never targets "other").
TARGET_ROLES: tuple[Role, ...] = ("vocals", "drums", "bass")
#: Default anchor preference when the user names none.
ANCHOR_PREFERENCE: tuple[Role, ...] = ("vocals", "drums", "bass")

# Ordered alias table: the first role whose pattern matches wins. Drums come first
# so that "bass drum" and "kick" never land in bass; vocals before bass so that
# "bass vox" (a low harmony) stays a vocal. A bare "808" or "Subs" is the (trap) bass;
# "808 Kick" and "Sub Kick" (a kick mic) are drums. A name with a VOCAL_WORDS word checks
# vocals first (see guess_role). Patterns are matched against the normalised name
# (lower case, separators to spaces, camelCase split).
ALIASES: tuple[tuple[Role, tuple[str, ...]], ...] = (
    ("drums", (
        r"bass ?drum", r"sub ?kicks?", r"kick ?subs?", r"kick", r"kik", r"kck", r"bd", r"snare", r"snr", r"sn", r"sd",
        r"hi ?hats?", r"hh", r"hats?", r"toms?", r"floor ?tom", r"rack ?tom", r"overheads?", r"oh", r"ohs", r"cymbals?", r"crash",
        r"ride", r"china", r"splash", r"perc\w*", r"prc", r"clap", r"claps", r"snaps?", r"shaker", r"tamb\w*",
        r"conga\w*", r"bongo\w*", r"cajon", r"rim\w*", r"drums?", r"drm", r"kit", r"room ?mics?", r"drum ?rooms?",
        r"break ?beats?", r"drum ?breaks?", r"loop ?drums?", r"cowbell", r"timbale\w*", r"808 ?kick", r"kick ?808",
        r"trap ?kit", r"tablas?", r"djembes?", r"darbukas?", r"doumbeks?", r"timpani", r"guiros?", r"cabasas?",
        r"wood ?blocks?", r"claves?", r"agogos?", r"bodhrans?", r"taikos?", r"kd", r"(?:side|cross|x) ?sticks?",
        # the same in the languages producers name tracks in (accents folded, see normalise_name)
        r"batterie", r"batteria", r"bateria", r"\w*schlagzeug", r"caisse ?claire", r"grosse ?caisse", r"caja",
        r"bombo", r"redoblante", r"platillos?", r"caixa", r"bumbo", r"pratos?", r"cassa", r"rullante", r"piatti",
        r"becken", r"ドラム", r"キック", r"スネア", r"ハイハット", r"드럼", r"킥", r"스네어", r"架子鼓", r"鼓组",
        r"барабан\w*", r"ударн\w*", r"бочк\w*", r"снейр\w*", r"хэт\w*", r"тарелк\w*", r"перкусси\w*",
    )),
    ("vocals", (
        r"vocals?", r"vox", r"voc", r"vocal\w*", r"lead ?voc\w*", r"lead ?vox", r"ld ?vox", r"bgv\w*",
        r"bv", r"bvs", r"backing", r"backups?", r"backup ?vocals?", r"choir", r"harmon(?:y|ies)", r"harms?", r"adlibs?",
        r"ad ?libs?", r"voice\w*", r"singer", r"rap", r"verse ?vox", r"chorus ?vox",
        r"spoken", r"speech", r"narration", r"chants?", r"shouts?", r"acapella", r"a ?cappella", r"lead ?vocal\w*",
        r"leadvocal\w*", r"main ?vox", r"falsetto", r"whispers?", r"o{2,}h+s?", r"a{2,}h+s?",
        r"voix", r"voz", r"voce", r"voci", r"\w*gesang", r"\w*stimmen?", r"chor", r"choeurs?", r"coros?", r"canto",
        r"voces", r"ボーカル", r"ボイス", r"コーラス", r"보컬", r"코러스", r"人声", r"主唱", r"和声", r"вокал\w*",
        r"голос\w*", r"бэк\w*", r"хор",
    )),
    ("bass", (
        r"bass", r"basses", r"bass ?di", r"bass ?amp", r"bass ?gtr", r"bass ?guitar", r"subs?", r"sub ?bass",
        r"808s?", r"synth ?bass", r"bass ?synth", r"bass ?stabs?", r"bassline", r"bass ?line", r"double ?bass",
        r"contrabass", r"moog ?bass", r"reese", r"di ?bass", r"bs",
        r"basse", r"bajo", r"baixo", r"basso", r"kontrabass", r"contrebasse", r"contrabajo", r"contrabbasso",
        r"ベース", r"베이스", r"贝斯", r"低音", r"бас", r"басы", r"басс", r"бас ?гитар\w*", r"саб ?бас\w*",
        r"басов\w*", r"басов\w* ?синт\w*", r"синт ?бас\w*", r"контрабас\w*",
    )),
)

# Words that name a vocal track whatever else the name says: "Ride Vox" and "Hat Vox" are vocals (a drum
# word next to them is a part or a section name), so these names check vocals before drums.
VOCAL_WORDS = (
    r"vocals?", r"vox", r"voc", r"vocal\w*", r"bgv\w*", r"bv", r"bvs", r"leadvocal\w*", r"choir",
    r"adlibs?", r"ad ?libs?", r"acapella", r"a ?cappella", r"voix", r"voz", r"voces", r"voce", r"voci", r"\w*gesang",
    r"\w*stimmen?", r"вокал\w*",
)
# Sung syllables that read as drum words: in "BV Ohs" the "Ohs" are sung, not overheads.
SUNG_SYLLABLES = (r"o+h*s?", r"a+h+s?")
# Vocal percussion (beatbox) is a drum part: it is mixed with the kit and sounds like one, so these
# names are drums, at low confidence since some mixes keep it with the vocals.
VOCAL_PERCUSSION = (r"(?:vocal|vox|voc|voice|mouth) ?perc\w*", r"beat ?box\w*")

# Words that say "drums" only when nothing else in the name names a role: "Gtr Room", "Vocal Room" and
# "Melody Break" are a guitar, a vocal and a melody; a bare "Room", "Break" or "Beat" is a drum track.
WEAK_DRUM_WORDS = (r"rooms?", r"breaks?", r"beats?", r"tops?")
# Words that say "bass" only when nothing else in the name names an instrument: a bare "Upright" is the upright
# (double) bass, as sessions name it; "Upright Piano" is a piano.
WEAK_BASS_WORDS = (r"upright", r"stand ?up")
# Sound design a producer exports beside the instruments (transitions, textures): a name of these alone is "other";
# beside a role word they say what the part does ("Snare Rise", "BGVOX Rise"), not a second instrument.
SOUND_DESIGN_WORDS = (
    r"rises?", r"sfx", r"impacts?", r"(?:up|down) ?lifters?", r"transis?tions?", r"atmos\w*", r"ambien\w*",
    r"textures?", r"drones?", r"noises?", r"white ?noise", r"vinyl", r"crackles?", r"tape ?stops?", r"beeps?",
    r"blips?", r"glitch\w*", r"stutters?", r"whoosh\w*", r"swoosh\w*", r"swells?",
)
# Words that say "vocals" only when nothing else in the name names an instrument: a vocoder or a talk box is a
# voice played through a synth ("Vocoder Synth" is the synth); a hip-hop session names its vocal takes by the
# song's sections ("Hook", "Verse 2"), where "Synth Hook" is the synth.
WEAK_VOCAL_WORDS = (r"vocoders?", r"talk ?box\w*", r"hook", r"verse")
# Instrument words that name neither vocals, drums nor bass: they make a guess "other", or mark a name
# that also names a role ("PAD + BASS") as ambiguous.
OTHER_WORDS = (
    r"melody", r"melodies", r"synths?", r"pads?", r"keys?", r"piano", r"organ", r"[ae]? ?gtrs?", r"guitars?",
    r"harmonicas?", r"strings?", r"brass", r"horns?", r"sax\w*", r"flutes?", r"arps?", r"plucks?",
    r"sweeps?", r"fx", r"effects?", r"risers?", r"bells?", r"mallets?", r"chords?", r"stabs?",
    # keyboards, band and orchestral instruments: named clearly, so not left to the unsure default
    r"rhodes", r"wurli\w*", r"clavinet", r"clav", r"mellotron", r"accordion", r"harpsichord", r"celesta",
    r"violins?", r"violas?", r"cellos?", r"celli", r"harps?", r"trumpets?", r"trombones?", r"tubas?",
    r"clarinets?", r"oboes?", r"bassoons?", r"woodwinds?", r"orch\w*", r"marimbas?", r"vibraphones?",
    r"xylophones?", r"glock\w*", r"ukuleles?", r"mandolins?", r"banjos?", r"sitars?",
    r"fiddle", r"pedal ?steel", r"lap ?steel", r"dobro", r"vibes", r"hammond", r"poly ?synth", r"supersaw",
    r"kalimba", r"bag ?pipes?", r"harmonium", r"erhu", r"koto", r"oud", r"bouzouki", r"lute", r"ocarina",
    r"piccolo", r"flugel\w*", r"euphonium", r"cornet", r"theremin", r"clavi",
    # the same in other languages (accents folded)
    r"guitares?", r"gitarren?", r"guitarras?", r"chitarr[ae]", r"klavier", r"clavier", r"teclados?", r"tastier[ae]",
    r"pianoforte", r"cordes", r"cuerdas", r"cordas", r"streicher", r"archi", r"cuivres", r"metales", r"blaser",
    r"orgue", r"orgel", r"organo", r"synthe", r"sintetizador\w*", r"sintetizzator\w*", r"flauta", r"flote",
    r"ギター", r"ピアノ", r"シンセ", r"ストリングス", r"キーボード", r"기타", r"피아노", r"신스", r"吉他", r"钢琴",
    r"弦乐", r"合成器", r"гитар\w*", r"гітар\w*", r"клавиш\w*", r"клавіш\w*", r"пианино", r"фортепиано", r"рояль",
    r"синт\w*", r"пэд\w*", r"струнн\w*", r"скрипк\w*", r"орган\w*",
)

#: How sure a name-based guess is: one role named and nothing else, a weak drum word only, a name that
#: names a role and another instrument, no role word at all; a role set by the user counts as certain.
GUESS_CONFIDENCE = {"clear": 0.9, "weak": 0.6, "ambiguous": 0.4, "none": 0.3, "user": 1.0}


#: What a word is made of, for where a name's words begin and end: Latin (accents folded) and Cyrillic letters and
#: digits. Japanese, Korean and Chinese names often run words together ("リードボーカル"), so there a role word
#: is found anywhere.
_LETTERS = "a-z0-9а-яёіїєґ"


def _words(patterns, plural: bool = False) -> re.Pattern:
    """One regex matching any of ``patterns`` as whole words, the longest where several start at one place:
    alternation takes the first that fits, so "bass" listed before "bass ?gtr" would leave "gtr" over and make
    "BASS GTR" read as a bass and a guitar. With ``plural``, each may end in "s" or "es": a group of kicks is
    exported as "Kicks", of shakers as "Shakers"."""
    ordered = sorted(patterns, key=len, reverse=True)
    ending = r"(?:e?s)?" if plural else ""
    return re.compile(rf"(?<![{_LETTERS}])(?:" + "|".join(f"(?:{p}){ending}" for p in ordered) + rf")(?![{_LETTERS}])")


_COMPILED = tuple((role, _words(patterns, plural=True)) for role, patterns in ALIASES)
_WEAK_DRUMS = _words(WEAK_DRUM_WORDS, plural=True)
_WEAK_BASS = _words(WEAK_BASS_WORDS, plural=True)
_WEAK_VOCALS = _words(WEAK_VOCAL_WORDS, plural=True)
_OTHER = _words(OTHER_WORDS, plural=True)
_SOUND_DESIGN = _words(SOUND_DESIGN_WORDS, plural=True)
_VOCAL = _words(VOCAL_WORDS, plural=True)
_SUNG = _words(SUNG_SYLLABLES)
_VOCAL_PERCUSSION = _words(VOCAL_PERCUSSION)
_VOCALS_FIRST = tuple(sorted(_COMPILED, key=lambda rp: rp[0] != "vocals"))

#: File extensions treated as audio (model.audio.decode reads them; here they are stripped from names).
AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus",
                              ".mp3", ".caf", ".w64", ".rf64", ".bwf"})
_AUDIO_EXT = re.compile(r"\.(" + "|".join(sorted(e[1:] for e in AUDIO_EXTENSIONS)) + r")$", re.I)


@dataclass(frozen=True)
class RoleGuess:
    """A track's role and where it came from: the file name, the user or the default."""

    role: Role
    source: Literal["name", "user", "default"] = "name"
    matched: str | None = None
    confidence: float = 1.0  # GUESS_CONFIDENCE: only low values need the user's eye

    @property
    def unsure(self) -> bool:
        """Whether the user should check it: a name guess less sure than one role named clearly (a bare "Room",
        "Beat" or "Upright", a name of two instruments as "PAD + BASS"). A name that names nothing is simply
        "other" (most such stems are synths, pads, FX), and the user's own choice is sure."""
        return self.source == "name" and self.confidence < GUESS_CONFIDENCE["clear"]


#: Letters that are not a base letter plus an accent, spelled as their usual ASCII.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l",
                            "Ł": "L"})


def fold_accents(text: str) -> str:
    """Latin letters without their accents ("Batería" -> "Bateria", "Chœurs" -> "Choeurs"); other scripts as
    they are (a kana's voicing mark is part of the letter, not an accent)."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).translate(_LIGATURES)


#: Take, version and side words that carry no role information.
_NOISE_WORDS = {"take", "tk", "comp", "v", "ver", "version", "final", "mix", "stem", "stems", "track", "trk", "audio",
                "export", "bounce", "print", "l", "r", "left", "right", "st", "stereo", "mono", "dry", "wet", "fx",
                "edit", "edited", "master", "mstr", "copy"}


def normalise_name(name: str) -> str:
    """Lower-case a DAW file name and strip extension, accents, track numbers and take suffixes."""
    words = _name_words(name)
    kept = [w for w in words if w not in _NOISE_WORDS]
    return " ".join(kept if kept else words)


def _name_words(name: str) -> list[str]:
    """A file name's lower-case words, accents, extension and track numbers (not 808) left out."""
    stem = fold_accents(PurePath(name).name)
    stem = _AUDIO_EXT.sub("", stem)
    stem = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)  # LeadVocal -> Lead Vocal
    stem = stem.lower()
    stem = re.sub(r"[_\-\.\(\)\[\]\{\}+,;:#&]+", " ", stem)
    stem = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", stem)  # bgv2 -> bgv 2, but keep 808
    stem = re.sub(r"\b(8 ?0 ?8)\b", "808", stem)
    # pure numbers (track numbers, take counters) say nothing, except a meaningful one (808)
    return [w for w in stem.split() if not (w.isdigit() and w != "808")]


def guess_role(name: str) -> RoleGuess:
    """Guess a track's role from its file name, the way DAW exports are named.

    Unknown names give ``other`` with ``source="default"``. The guess carries a confidence:
    high when the name names one role only, lower for a bare drum word ("Room", "Break") or a name
    that also names another instrument ("PAD + BASS") or a vocal word and a drum word ("Ride Vox": vocals).
    """
    return _guess_normalised(normalise_name(name))


def _guess_normalised(norm: str) -> RoleGuess:
    m = _VOCAL_PERCUSSION.search(norm)
    if m:
        return RoleGuess("drums", "name", m.group(0), GUESS_CONFIDENCE["ambiguous"])
    order = _COMPILED
    if _VOCAL.search(norm):
        norm = " ".join(_SUNG.sub(" ", norm).split())
        order = _VOCALS_FIRST
    for role, pattern in order:
        m = pattern.search(norm)
        if m:
            rest = norm[:m.start()] + " " + norm[m.end():]  # "synth bass" is bass, "pad bass" is two things
            kind = "ambiguous" if _OTHER.search(rest) or _names_two_roles(rest, role) else "clear"
            return RoleGuess(role, "name", m.group(0), GUESS_CONFIDENCE[kind])
    other = _OTHER.search(norm)
    if other:
        return RoleGuess("other", "name", other.group(0), GUESS_CONFIDENCE["clear"])
    # bass before drums: "Upright Room" is the bass's room mic; a weak word before sound design: "Beat Glitch"
    # may well be the drums, so the user is asked
    for role, weak in (("vocals", _WEAK_VOCALS), ("bass", _WEAK_BASS), ("drums", _WEAK_DRUMS)):
        m = weak.search(norm)
        if m:
            return RoleGuess(role, "name", m.group(0), GUESS_CONFIDENCE["weak"])
    design = _SOUND_DESIGN.search(norm)
    if design:
        return RoleGuess("other", "name", design.group(0), GUESS_CONFIDENCE["clear"])
    return RoleGuess("other", "default", None, GUESS_CONFIDENCE["none"])


def _names_two_roles(norm: str, role: str) -> bool:
    return any(r != role and p.search(norm) for r, p in _COMPILED)


#: Words that at least this share of a session's names (two at least) begin or end with are the song's or the
#: project's title, which DAWs put around each track name ("Drum Love_Bass.wav", "Bass Face - Vocals.wav").
TITLE_SHARE = 0.75


def guess_roles(names: Sequence[str]) -> list[RoleGuess]:
    """Each name's guess within its session (``guess_role``), the words of a shared title left out.

    A title is the longest run of leading (or trailing) words that most names share (TITLE_SHARE) and that
    leaves each of them a word; it is left out only where what is left names more than one role, so a
    folder of one role's files ("BGVOX 1", "BGVOX HARMONY") keeps its shared word. A name whose other words
    name nothing keeps its whole-name guess, marked unsure where the shared words name a role: "Drum Loop"
    beside "Drum Kick" and "Drum Snare" reads like a drum, "Drum Love_Insert 3" does not, and only the user
    knows which the shared word was.
    """
    words = [normalise_name(n).split() for n in names]
    whole = [_guess_normalised(" ".join(w)) for w in words]
    head = _shared_run(words)
    tail = _shared_run([w[::-1] for w in words])[::-1]
    if not head and not tail:
        return whole
    untitled = [_guess_normalised(" ".join(_without_title(w, head, tail))) for w in words]
    if len({g.role for g in untitled if g.source == "name"}) < 2:
        return whole
    title_names_a_role = any(_guess_normalised(" ".join(run)).role != "other" for run in (head, tail) if run)
    unsure = GUESS_CONFIDENCE["ambiguous"] if title_names_a_role else 1.0
    return [u if u.source == "name" or w.source != "name" else replace(w, confidence=min(w.confidence, unsure))
            for u, w in zip(untitled, whole)]


def _shared_run(words: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The longest run of leading words that TITLE_SHARE of the names begin with, each keeping a word after it."""
    need = max(2, math.ceil(TITLE_SHARE * len(words)))
    best: tuple[str, ...] = ()
    for k in range(1, max((len(w) for w in words), default=0)):
        counts = Counter(tuple(w[:k]) for w in words if len(w) > k)
        run, count = counts.most_common(1)[0] if counts else ((), 0)
        if count < need:
            break
        best = run
    return best


def _without_title(words: list[str], head: tuple[str, ...], tail: tuple[str, ...]) -> list[str]:
    if head and tuple(words[:len(head)]) == head and len(words) > len(head):
        words = words[len(head):]
    if tail and tuple(words[-len(tail):]) == tail and len(words) > len(tail):
        words = words[:-len(tail)]
    return words


#: The one single track the advice can be anchored on (a pseudo-role in measurements and profiles): the
#: lead vocal, measured on its own.
TRACK_ANCHOR = "lead vocal"
#: Words that mark a vocal track as the lead ("VOX LEAD", "Lead Vox", "Ld Vocal", "Main Vox").
LEAD_VOCAL_WORDS = (r"lead\w*", r"ld", r"main", r"principale?", r"haupt\w*", r"リード", r"메인", r"主唱",
                    r"основн\w*", r"ведущ\w*", r"лид")
#: Words that mark a vocal track as a backing part even when it says "main" ("BGVOX MAIN", "Lead Vox Dbl").
BACKING_VOCAL_WORDS = (r"bg\w*", r"bv", r"bvs", r"backing", r"backups?", r"harmon(?:y|ies)", r"choir", r"adlibs?",
                       r"ad ?libs?", r"dbl", r"doubles?", r"chor", r"choeurs?", r"coros?", r"begleit\w*",
                       r"コーラス", r"코러스", r"和声", r"бэк\w*", r"хор")
_LEAD = _words(LEAD_VOCAL_WORDS)
_BACKING = _words(BACKING_VOCAL_WORDS)


#: Effect words: with no instrument or role in the name, the file is an effect return (a reverb or delay fed by
#: sends from several tracks), as Ableton's "A-Reverb" and "B-Delay" in an "all tracks" export.
EFFECT_RETURN_WORDS = (r"reverbs?", r"verbs?", r"delays?", r"echo(?:e?s)?", r"returns?", r"sends?", r"aux\w*")
_EFFECT_RETURN = _words(EFFECT_RETURN_WORDS)


def named_like_effect_return(name: str) -> bool:
    """Whether a file name names an effect and no instrument or role ("A-Reverb", "Delay Return", "Aux 2"; not
    "Vocal Reverb" or "Snare Verb", which are their role's)."""
    return _names_only(name, _EFFECT_RETURN)


#: Words of a reference track kept in the session to compare with (often another song): "Reference", "Ref Mix".
REFERENCE_WORDS = (r"refs?", r"references?")
_REFERENCE = _words(REFERENCE_WORDS)


def named_like_reference(name: str) -> bool:
    """Whether a file name names a reference track and no instrument or role ("Reference", "REF MIX", "Master Ref";
    not "Ref Vox")."""
    return _names_only(name, _REFERENCE)


#: Words of a click track (the DAW's metronome printed as a track): "Click", "Click Track", "Metronome".
CLICK_WORDS = (r"clicks?", r"click ?track", r"metronom\w*", r"klick")
_CLICK = _words(CLICK_WORDS)


def named_like_click_track(name: str) -> bool:
    """Whether a file name names a click track and no instrument or role ("Click", "Metronome"; not "Kick Click",
    a kick's attack layer)."""
    return _names_only(name, _CLICK)


def _names_only(name: str, pattern: re.Pattern) -> bool:
    """Whether the name has a ``pattern`` word and names no instrument or role."""
    return guess_role(name).source == "default" and bool(pattern.search(normalise_name(name)))


_WET_WORDS = {"wet", "fx", "print", "printed"}


def dry_wet_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """(dry, wet) indices of names that are one track printed dry and with its effects ("Lead Vox Dry" and
    "Lead Vox Wet" or "Lead Vox FX"): the same name once these words are dropped, one saying dry, one wet."""
    entries = []
    for i, name in enumerate(names):
        words = set(_name_words(name))
        kind = "dry" if "dry" in words else "wet" if words & _WET_WORDS else None
        if kind:
            entries.append((normalise_name(name), kind, i))
    return one_of_each(entries, "dry", "wet")


def one_of_each(entries: Iterable[tuple[Hashable, str, int]], first: str, second: str) -> list[tuple[int, int]]:
    """(first, second) indices of the keys that have exactly one entry of each kind, from (key, kind, index)."""
    by_key: dict[Hashable, dict[str, list[int]]] = {}
    for key, kind, i in entries:
        by_key.setdefault(key, {}).setdefault(kind, []).append(i)
    return [(k[first][0], k[second][0]) for k in by_key.values()
            if len(k.get(first, ())) == len(k.get(second, ())) == 1]


def named_like_backing_vocal(name: str) -> bool:
    """Whether a file name marks a backing part ("BGVOX ECHO", "Lead Vox Dbl", "Harmony 2")."""
    return bool(_BACKING.search(normalise_name(name)))


def lead_vocal_of(tracks) -> "str | None":
    """The id of a song's lead vocal among ``tracks`` (objects with id, name and role): the one vocals track
    whose name says lead or main and no backing part; None when no name says so clearly (a lone "Vocals" stem,
    as in MUSDB, may hold the backing vocals too)."""
    named = [t for t in tracks if t.role.role == "vocals" and _LEAD.search(normalise_name(t.name))
             and not named_like_backing_vocal(t.name)]
    return named[0].id if len(named) == 1 else None


def check_role(value: str) -> Role:
    """Validate a role name given by a user; raises RoleError naming the choices."""
    from model.errors import RoleError

    v = value.strip().lower()
    if v not in ROLES:
        raise RoleError(f"Unknown role '{value}': choose one of {', '.join(ROLES)}.")
    return v  # type: ignore[return-value]
