"""Role guessing from real-world DAW export names."""

from types import SimpleNamespace

import pytest

from model.errors import RoleError
from model.audio.roles import (GUESS_CONFIDENCE, check_role, dry_wet_pairs, fold_accents, guess_role, guess_roles,
                               lead_vocal_of, named_like_click_track, named_like_effect_return,
                               named_like_reference)

NAMES = [
    # drums
    ("01 Kick.wav", "drums"), ("Kick In.wav", "drums"), ("Kick_Out_01.wav", "drums"), ("Snare Top", "drums"),
    ("Snare Bottom.aif", "drums"), ("02 - snare_02.wav", "drums"), ("OH L", "drums"), ("OH R.wav", "drums"),
    ("Overheads.wav", "drums"), ("HiHat.wav", "drums"), ("Hi-Hat Closed.wav", "drums"), ("HH.wav", "drums"),
    ("Tom 1.wav", "drums"), ("Floor Tom.wav", "drums"), ("Room Mics.wav", "drums"), ("Percussion", "drums"),
    ("9 Percussion.wav", "drums"), ("2 Drums.wav", "drums"), ("Drum Bus.wav", "drums"), ("Bass Drum.wav", "drums"),
    ("Clap.wav", "drums"), ("Shaker_01.wav", "drums"), ("Tambourine.wav", "drums"), ("Cymbals.wav", "drums"),
    ("Ride.flac", "drums"), ("808 Kick.wav", "drums"), ("Congas.wav", "drums"), ("DRUMS.WAV", "drums"),
    ("Tabla.wav", "drums"), ("Djembe.wav", "drums"), ("Timpani.wav", "drums"), ("Claves.wav", "drums"),
    ("Wood Block.wav", "drums"), ("Cabasa.wav", "drums"), ("KD.wav", "drums"), ("Sidestick.wav", "drums"),
    ("Snare X-Stick.wav", "drums"), ("Cross Stick.wav", "drums"),
    # vocals
    ("Lead Vox", "vocals"), ("Lead Vocal.wav", "vocals"), ("LeadVocal_Verse.wav", "vocals"), ("BGV 2", "vocals"),
    ("BGV_1.wav", "vocals"), ("Backup Vocal 2.wav", "vocals"), ("Backing Vocals.wav", "vocals"), ("Vox Dbl.wav", "vocals"),
    ("05 Lead Vox.flac", "vocals"), ("Harmony High.wav", "vocals"), ("Choir.wav", "vocals"), ("Adlibs.wav", "vocals"),
    ("1 Vocals.wav", "vocals"), ("vocals.wav", "vocals"), ("Voice Memo Take 3.wav", "vocals"), ("Rap Verse.wav", "vocals"),
    ("Harm 1.wav", "vocals"), ("Vox Harm Lo.wav", "vocals"),  # "Harm": a harmony vocal ("Harmonica" is other)
    # bass
    ("Bass DI", "bass"), ("Bass Amp.wav", "bass"), ("Synth Bass", "bass"), ("04 Bass DI.flac", "bass"),
    ("01 - bass_01.wav", "bass"), ("Sub Bass.wav", "bass"), ("808.wav", "bass"), ("Bassline.wav", "bass"),
    ("3 Bass.wav", "bass"), ("Double Bass.wav", "bass"), ("bass.wav", "bass"),
    # other
    ("Gtr L", "other"), ("Electric Gtr_01.wav", "other"), ("Rhythm Guitar.wav", "other"), ("Lead Guitar.wav", "other"),
    ("Pad", "other"), ("Keys", "other"), ("FX", "other"), ("Synth 1.wav", "other"), ("Piano.wav", "other"),
    ("Strings.wav", "other"), ("Organ.wav", "other"), ("Brass.wav", "other"), ("07 Keys Pad.flac", "other"),
    ("Audio 12.wav", "other"), ("Tenor Sax.wav", "other"), ("Upright Piano.wav", "other"), ("other.wav", "other"),
]


@pytest.mark.parametrize("name,role", NAMES)
def test_guess_role(name, role):
    assert guess_role(name).role == role


def test_unknown_names_are_other_by_default():
    guess = guess_role("Track 07.wav")
    assert (guess.role, guess.source) == ("other", "default")


def test_known_names_say_what_matched():
    guess = guess_role("02 Snare Top.wav")
    assert guess.source == "name" and guess.matched == "snare"


def test_check_role_rejects_unknown():
    with pytest.raises(RoleError, match="choose one of"):
        check_role("guitar")
    assert check_role(" Drums ") == "drums"


@pytest.mark.parametrize("name, role", [
    ("MELODY BREAK.wav", "other"), ("Harmonica.wav", "other"), ("Vocal Room.wav", "vocals"),
    ("Gtr Room.wav", "other"), ("Room.wav", "drums"), ("BREAKBEAT.ogg", "drums"), ("DRUMS BREAK 1.ogg", "drums"),
])
def test_weak_drum_words_yield_to_other_role_words(name, role):
    assert guess_role(name).role == role


@pytest.mark.parametrize("name, role, kind", [
    ("Upright.wav", "bass", "weak"), ("UPRIGHT 2.wav", "bass", "weak"), ("Stand Up.wav", "bass", "weak"),
    ("Upright Room.wav", "bass", "weak"), ("Upright Bass DI.wav", "bass", "clear"),
    ("Upright Piano.wav", "other", "clear"),
])
def test_a_bare_upright_is_the_upright_bass(name, role, kind):
    """"Upright" alone names the double bass, unsure (the user's eye is asked for); beside another instrument word
    it is that instrument's kind."""
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == (role, GUESS_CONFIDENCE[kind])


@pytest.mark.parametrize("name, role, kind", [
    ("RISE.wav", "other", "clear"), ("Impact 2.wav", "other", "clear"), ("Downlifter.wav", "other", "clear"),
    ("TRANSITION.wav", "other", "clear"), ("TRANSISTION.wav", "other", "clear"), ("Atmos.wav", "other", "clear"),
    ("White Noise.wav", "other", "clear"), ("BEEPS.wav", "other", "clear"), ("GLITCH HH.wav", "drums", "clear"),
    ("Whoosh.wav", "other", "clear"), ("Beat Glitch.wav", "drums", "weak"),
    ("Snare Rise.wav", "drums", "clear"), ("BGVOX RISE.wav", "vocals", "clear"), ("Impact Kick.wav", "drums", "clear"),
    ("Vocoder.wav", "vocals", "weak"), ("Talkbox Lead.wav", "vocals", "weak"), ("Vocoder Synth.wav", "other", "clear"),
])
def test_sound_design_names_are_other_and_only_describe_a_role_part(name, role, kind):
    """A riser, an impact or a texture alone is "other" (no longer the unsure default); beside a role word it says
    what the part does and leaves that guess sure. A vocoder or a talk box alone is a voice, unsure."""
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == (role, GUESS_CONFIDENCE[kind])


@pytest.mark.parametrize("name", [
    "Fiddle.wav", "Pedal Steel.wav", "Lap Steel.wav", "Dobro.wav", "Vibes.wav", "Hammond.wav", "Polysynth.wav",
    "Supersaw.wav", "Kalimba.wav", "Bagpipes.wav", "Harmonium.wav", "Erhu.wav", "Koto.wav", "Oud.wav",
    "Bouzouki.wav", "Lute.wav", "Ocarina.wav", "Piccolo.wav", "Flugelhorn.wav", "Euphonium.wav", "Cornet.wav",
    "Theremin.wav", "Clavi.wav",
])
def test_country_jazz_folk_and_synth_instruments_are_other_and_sure(name):
    """Instruments of other genres were the unsure default, which kept every "other" suggestion tentative."""
    guess = guess_role(name)
    assert (guess.role, guess.source, guess.confidence) == ("other", "name", GUESS_CONFIDENCE["clear"])


@pytest.mark.parametrize("name, role, kind", [
    ("Hook.wav", "vocals", "weak"), ("Verse 2.wav", "vocals", "weak"), ("Hooks.wav", "vocals", "weak"),
    ("Synth Hook.wav", "other", "clear"), ("Verse Gtr.wav", "other", "clear"), ("Hook Vox.wav", "vocals", "clear"),
])
def test_hip_hop_section_names_are_vocal_takes_unless_an_instrument_is_named(name, role, kind):
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == (role, GUESS_CONFIDENCE[kind])


def test_guess_confidence_marks_only_uncertain_guesses():
    assert guess_role("Lead Vox.wav").confidence >= 0.9
    assert guess_role("Synth Bass.wav").confidence >= 0.9  # one instrument, named in full
    assert guess_role("PAD + BASS.ogg").confidence < 0.5   # two instruments in one file
    assert guess_role("Room.wav").confidence < 0.9         # a bare drum word
    assert guess_role("EDM BUILD.ogg").confidence < 0.5    # no role word at all


@pytest.mark.parametrize("name, role", [
    # a vocal word beats a drum word: "Ohs"/"Oohs"/"Aahs" are sung, a drum word is a part name
    ("BV Ohs.wav", "vocals"), ("Vox Ohs.wav", "vocals"), ("Ride Vox.wav", "vocals"), ("Hat Vox.wav", "vocals"),
    ("Clap Vox.wav", "vocals"), ("Oohs.wav", "vocals"), ("Aahs.wav", "vocals"),
    # ... except vocal percussion, which is mixed with the kit
    ("Vox Perc.wav", "drums"), ("Vocal Perc.wav", "drums"), ("Beatbox.wav", "drums"),
    # subs and 808s are the bass; a sub kick is a kick mic
    ("Subs.wav", "bass"), ("Sub.wav", "bass"), ("Sub Bass.wav", "bass"), ("808.wav", "bass"),
    ("Subkick.wav", "drums"), ("Sub Kick.wav", "drums"), ("Kick Sub.wav", "drums"),
    # "PRC" is percussion
    ("BUILD PRC.ogg", "drums"), ("PRC.wav", "drums"), ("Perc.wav", "drums"),
])
def test_vocal_bass_and_percussion_names_from_the_audit(name, role):
    assert guess_role(name).role == role


def test_two_role_names_keep_a_low_confidence():
    assert guess_role("BV Ohs.wav").confidence >= 0.9   # the "Ohs" are sung: one role only
    assert guess_role("Ride Vox.wav").confidence < 0.5  # a vocal and a drum word: worth a look
    assert guess_role("Vox Perc.wav").confidence < 0.5  # some mixes keep vocal percussion with the vocals
    assert guess_role("Sub Kick.wav").confidence >= 0.9


@pytest.mark.parametrize("name", ["Bass Gtr.wav", "Bass Guitar DI.wav", "BASS LINE.ogg", "Synth Bass.wav",
                                  "Bass Synth.wav", "BASS STAB.ogg"])
def test_a_bass_named_in_full_is_a_clear_bass(name):
    # "Bass Gtr" is one instrument: the longest alias wins, so no "gtr" is left over to look like a second one
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == ("bass", 0.9)


def test_snaps_are_percussion():
    assert guess_role("SNAP.wav").role == "drums" and guess_role("Finger Snaps.wav").role == "drums"


@pytest.mark.parametrize("name, role", [
    ("Kicks.wav", "drums"), ("SNARES.wav", "drums"), ("Shakers.wav", "drums"), ("CRASHES.wav", "drums"),
    ("HHs.wav", "drums"), ("Kicks Bus.wav", "drums"), ("BASSLINES.wav", "bass"), ("Chants.wav", "vocals"),
    ("SD 909.wav", "drums"),
])
def test_group_names_in_the_plural_keep_their_role(name, role):
    """A DAW exports a group of kicks as "Kicks": the plural names the same role, clearly."""
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == (role, GUESS_CONFIDENCE["clear"])



@pytest.mark.parametrize("name", ["Rhodes.wav", "Wurlitzer.wav", "Clav.wav", "Violins.wav", "Cello 2.wav", "Harp.wav",
                                  "Trumpet.wav", "Trombones.wav", "Oboe.wav", "Bassoon.wav", "Marimba.wav",
                                  "Glockenspiel.wav", "Ukulele.wav", "Orchestra.wav", "Chords.wav", "HIGH STABS.ogg",
                                  "AGtr.wav", "EGtr L.wav", "E-Gtr 2.wav"])
def test_keyboards_and_orchestral_instruments_are_clearly_other(name):
    # named plainly, they are no reason to ask the user (a name with no role word at all stays unsure)
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == ("other", GUESS_CONFIDENCE["clear"])


def test_an_808_kick_is_a_kick_either_way_round_and_a_bass_clarinet_is_not_a_clear_bass():
    assert (guess_role("Kick 808.wav").role, guess_role("Kick 808.wav").confidence) == ("drums", 0.9)
    assert guess_role("Bass Clarinet.wav").confidence < GUESS_CONFIDENCE["weak"]  # the user is asked


@pytest.mark.parametrize("name, is_return", [
    ("A-Reverb.wav", True), ("B-Delay.wav", True), ("Verb Return.wav", True), ("Aux 2.wav", True),
    ("FX Return.wav", True), ("Vocal Reverb.wav", False), ("Snare Verb.wav", False), ("ECHO GUITAR.wav", False),
    ("VOX ECHO.ogg", False), ("Pad.wav", False), ("Audio 1.wav", False),
])
def test_an_effect_return_is_a_name_of_an_effect_and_of_nothing_else(name, is_return):
    assert named_like_effect_return(name) is is_return


@pytest.mark.parametrize("name, role", [
    # French, German, Spanish, Portuguese, Italian: accents may be written or not
    ("Voix lead.wav", "vocals"), ("Chœurs.wav", "vocals"), ("Batterie.wav", "drums"), ("Caisse claire.wav", "drums"),
    ("Grosse caisse.wav", "drums"), ("Basse.wav", "bass"), ("Contrebasse.wav", "bass"), ("Guitare.wav", "other"),
    ("Gesang.wav", "vocals"), ("Hauptstimme.wav", "vocals"), ("Backgroundgesang.wav", "vocals"),
    ("Schlagzeug.wav", "drums"), ("Becken.wav", "drums"), ("E-Bass.wav", "bass"), ("Gitarre.wav", "other"),
    ("Bläser.wav", "other"), ("Voz.wav", "vocals"), ("Coros.wav", "vocals"), ("Batería.wav", "drums"),
    ("Bateria.wav", "drums"), ("Caja.wav", "drums"), ("Bombo.wav", "drums"), ("Bajo.wav", "bass"),
    ("Baixo.wav", "bass"), ("Guitarra.wav", "other"), ("Teclados.wav", "other"), ("Voce.wav", "vocals"),
    ("Batteria.wav", "drums"), ("Cassa.wav", "drums"), ("Rullante.wav", "drums"), ("Basso.wav", "bass"),
    ("Chitarra.wav", "other"), ("Tastiera.wav", "other"),
    # Japanese, Korean, Chinese
    ("ボーカル.wav", "vocals"), ("リードボーカル.wav", "vocals"), ("ドラム.wav", "drums"), ("ベース.wav", "bass"),
    ("ギター.wav", "other"), ("보컬.wav", "vocals"), ("드럼.wav", "drums"), ("베이스.wav", "bass"), ("人声.wav", "vocals"),
    ("架子鼓.wav", "drums"), ("贝斯.wav", "bass"), ("吉他.wav", "other"),
    # Russian, Ukrainian: Cyrillic letters make words as Latin ones do
    ("Вокал.wav", "vocals"), ("Бэк-вокал.wav", "vocals"), ("Барабаны.wav", "drums"), ("Бочка.wav", "drums"),
    ("Бас.wav", "bass"), ("Бас-гитара.wav", "bass"), ("Басовый синт.wav", "bass"), ("Гитара.wav", "other"),
    ("Гітара.wav", "other"), ("Клавиши.wav", "other"), ("Voces.wav", "vocals"),
])
def test_track_names_in_other_languages_are_guessed_clearly(name, role):
    guess = guess_role(name)
    assert (guess.role, guess.confidence) == (role, GUESS_CONFIDENCE["clear"])


def test_a_cyrillic_role_word_inside_a_longer_word_is_not_a_role():
    assert guess_role("Басня.wav").role == "other"        # a fable, not a bass: "бас" is only a whole word


def test_accents_are_folded_for_latin_letters_only():
    assert fold_accents("Batería Chœurs Flöte") == "Bateria Choeurs Flote"
    assert fold_accents("ボーカル") == "ボーカル"   # the voicing mark of a kana is part of the letter


@pytest.mark.parametrize("names, lead", [
    (["Voz principal.wav", "Coros 1.wav", "Bateria.wav"], "Voz principal.wav"),
    (["Leadgesang.wav", "Chor.wav"], "Leadgesang.wav"),
    (["Hauptstimme.wav", "Begleitstimme.wav"], "Hauptstimme.wav"),
    (["リードボーカル.wav", "コーラス.wav"], "リードボーカル.wav"),
    (["Вокал основной.wav", "Бэк-вокал.wav"], "Вокал основной.wav"),
])
def test_the_lead_vocal_is_found_by_its_name_in_other_languages(names, lead):
    tracks = [SimpleNamespace(id=n, name=n, role=guess_role(n)) for n in names]
    assert lead_vocal_of(tracks) == lead


def _session(names):
    return [(g.role, g.confidence) for g in guess_roles(names)]


@pytest.mark.parametrize("names", [
    ["Drum Love_Kick.wav", "Drum Love_Bass.wav", "Drum Love_Lead Vox.wav", "Drum Love_Piano.wav"],    # FL Studio
    ["Bass Face - Kick.wav", "Bass Face - Bass.wav", "Bass Face - Lead Vox.wav", "Bass Face - Piano.wav"],
    ["Kick (Drum Love).wav", "Bass (Drum Love).wav", "Lead Vox (Drum Love).wav", "Piano (Drum Love).wav"],
])
def test_a_song_title_around_every_track_name_is_not_read_as_a_role(names):
    assert _session(names) == [("drums", 0.9), ("bass", 0.9), ("vocals", 0.9), ("other", 0.9)]
    # one file from elsewhere does not hide the title (most names share it)
    assert _session(names + ["Reference.wav"])[:4] == _session(names)


def test_a_track_name_that_is_only_the_title_and_a_number_is_asked_about():
    names = ["Drum Love_Kick.wav", "Drum Love_Bass.wav", "Drum Love_Vox.wav", "Drum Love_Insert 3.wav"]
    assert _session(names)[3] == ("drums", GUESS_CONFIDENCE["ambiguous"])


@pytest.mark.parametrize("names", [
    ["BGVOX 1.ogg", "BGVOX HARMONY.ogg", "BGVOX MAIN.ogg"],                    # one role's files: nothing to strip
    ["Synth Bass.wav", "Synth Lead.wav", "Synth Pad.wav", "Vox.wav"],          # shared instrument word, not a role
    ["Kick.wav", "Snare.wav", "Bass.wav", "Lead Vox.wav"],                     # nothing shared
])
def test_shared_words_that_are_no_title_leave_the_guesses_as_they_were(names):
    assert _session(names) == [(guess_role(n).role, guess_role(n).confidence) for n in names]


def test_a_shared_drum_word_leaves_a_track_that_names_nothing_else_a_drum_but_asks():
    names = ["Drum Kick.wav", "Drum Snare.wav", "Drum Hat.wav", "Drum Loop.wav", "Vox.wav"]
    assert _session(names) == [("drums", 0.9)] * 3 + [("drums", GUESS_CONFIDENCE["ambiguous"]), ("vocals", 0.9)]


@pytest.mark.parametrize("name, is_reference", [
    ("Reference.wav", True), ("REF MIX.wav", True), ("Master Ref.wav", True), ("Refs.wav", True),
    ("Ref Vox.wav", False), ("Refrain Synth.wav", False), ("Audio 1.wav", False),
])
def test_a_reference_track_is_named_as_one_and_names_nothing_else(name, is_reference):
    assert named_like_reference(name) is is_reference


@pytest.mark.parametrize("name, is_click", [
    ("Click.wav", True), ("Click Track.wav", True), ("Metronome.wav", True), ("KLICK.wav", True),
    ("Kick Click.wav", False), ("Click Vox.wav", False), ("Keys.wav", False),
])
def test_a_click_track_is_named_as_one_and_names_nothing_else(name, is_click):
    assert named_like_click_track(name) is is_click


def test_dry_and_wet_prints_of_one_track_are_paired_by_name():
    names = ["Lead Vox Dry.wav", "Lead Vox Wet.wav", "Kick.wav", "Gtr_DRY.wav", "Gtr_FX.wav", "Synth Dry.wav",
             "Pad Wet.wav", "FX.wav"]
    assert dry_wet_pairs(names) == [(0, 1), (3, 4)]
