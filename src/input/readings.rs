//! Which single-byte encodings could have written a file that is not UTF-8, and whether they
//! agree on its letters. Each candidate is tried on every byte outside ASCII the file holds
//! (a byte it does not define, or reads as a control character, rules it out), then on every
//! word holding such a byte: a reading that puts a symbol inside a word (`M¸ller`, `¦koda`), a
//! capital inside a word in small letters (`MŸller`, `CafÈ`) or Cyrillic letters among Latin
//! ones (`Mьller`) is not how anyone writes. The readings left either agree on every byte of
//! the file (any of them reads it right) or they do not, and then the file is refused unless
//! the detector's guess has enough text behind it to be trusted over the others it weighed.

use std::collections::HashMap;
use std::path::Path;

use encoding_rs::Encoding;

use super::encoding::LineReader;
use crate::Error;

/// The single-byte encodings a customer file is tried in, besides the detector's guess: the
/// Western, Central European, Baltic, Turkish, Cyrillic and Greek ones that office programs
/// save in. ISO-8859-1 is read as windows-1252, which holds it.
const CANDIDATES: [&Encoding; 14] = [
    encoding_rs::WINDOWS_1252,
    encoding_rs::ISO_8859_15,
    encoding_rs::MACINTOSH,
    encoding_rs::WINDOWS_1250,
    encoding_rs::ISO_8859_2,
    encoding_rs::ISO_8859_4,
    encoding_rs::ISO_8859_13,
    encoding_rs::WINDOWS_1257,
    encoding_rs::WINDOWS_1254,
    encoding_rs::WINDOWS_1251,
    encoding_rs::KOI8_R,
    encoding_rs::KOI8_U,
    encoding_rs::IBM866,
    encoding_rs::WINDOWS_1253,
];

/// The candidates the detector (chardetng) never names, so its guess says nothing about them.
const UNWEIGHED: [&Encoding; 3] = [
    encoding_rs::ISO_8859_15,
    encoding_rs::MACINTOSH,
    encoding_rs::KOI8_R,
];

/// In how many distinct words the bytes two readings disagree on must occur for the detector's
/// guess to be trusted over the other reading: fewer is too little text for its statistics (a
/// file whose one accented letter is the `ï` of `naïve` was guessed ISO-8859-4; `Şişli,
/// Eskişehir` in windows-1254 was guessed windows-1250).
pub(super) const TRUSTED_AFTER: u64 = 3;

/// How many distinct words holding bytes outside ASCII are kept for the readings' checks.
const MAX_WORDS: usize = 100_000;

/// A place in the file: its line and the byte offset of the byte concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    /// The line (from 1).
    pub line: u64,
    /// The byte offset in the file.
    pub offset: u64,
}

/// What one pass over a file found about its bytes outside ASCII.
#[derive(Debug)]
pub(super) struct Survey {
    /// How often each byte 0x80..=0xFF occurs.
    counts: [u64; 128],
    /// The first place of each byte, and the line it is on (as bytes).
    first: [Option<(Place, usize)>; 128],
    /// Lines where a byte first occurs, by the index `first` gives.
    lines: Vec<Vec<u8>>,
    /// The distinct words holding a byte outside ASCII, each with where it first occurs.
    words: HashMap<Vec<u8>, Place>,
}

impl Survey {
    /// Reads the file at `path` once.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be read.
    pub(super) fn of(path: &Path) -> Result<Survey, Error> {
        let mut survey = Survey {
            counts: [0; 128],
            first: [None; 128],
            lines: Vec::new(),
            words: HashMap::new(),
        };
        let mut reader = LineReader::open(path)?;
        let mut number = 0;
        while let Some((offset, line)) = reader.next_line()? {
            number += 1;
            if line.is_ascii() {
                continue;
            }
            let mut kept = None;
            for (at, &b) in line.iter().enumerate().filter(|(_, b)| !b.is_ascii()) {
                let i = usize::from(b - 0x80);
                survey.counts[i] += 1;
                if survey.first[i].is_none() {
                    let index = *kept.get_or_insert_with(|| {
                        survey.lines.push(line.to_vec());
                        survey.lines.len() - 1
                    });
                    let place = Place {
                        line: number,
                        offset: offset + at as u64,
                    };
                    survey.first[i] = Some((place, index));
                }
            }
            let is_word = |b: &u8| b.is_ascii_alphanumeric() || !b.is_ascii();
            let mut at = 0;
            while at < line.len() {
                let len = line[at..].iter().take_while(|b| is_word(b)).count();
                let word = &line[at..at + len];
                if !word.is_ascii()
                    && survey.words.len() < MAX_WORDS
                    && !survey.words.contains_key(word)
                {
                    let place = Place {
                        line: number,
                        offset: offset + at as u64,
                    };
                    survey.words.insert(word.to_vec(), place);
                }
                at += len.max(1);
            }
        }
        Ok(survey)
    }

    /// The bytes outside ASCII the file holds.
    fn present(&self) -> impl Iterator<Item = usize> + '_ {
        (0..128).filter(|i| self.counts[*i] > 0)
    }
}

/// A single-byte encoding's reading of the bytes outside ASCII.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    /// The encoding.
    pub encoding: &'static Encoding,
    /// What it reads each byte 0x80..=0xFF as; `None` where it defines no character.
    table: [Option<char>; 128],
}

impl Reading {
    /// The reading of `encoding`, a single-byte encoding.
    pub(super) fn new(encoding: &'static Encoding) -> Reading {
        let mut table = [None; 128];
        for (i, slot) in table.iter_mut().enumerate() {
            let byte = [0x80 + i as u8];
            *slot = encoding
                .decode_without_bom_handling_and_without_replacement(&byte)
                .and_then(|text| text.chars().next())
                .filter(|c| !super::encoding::is_unreadable(*c));
        }
        Reading { encoding, table }
    }

    /// `bytes` as this encoding reads them, with `\xNN` for a byte it defines no character for.
    pub(super) fn read(&self, bytes: &[u8]) -> String {
        let mut text = String::with_capacity(bytes.len() + 8);
        for &b in bytes {
            match b {
                0..=0x7F => text.push(char::from(b)),
                _ => match self.table[usize::from(b - 0x80)] {
                    Some(c) => text.push(c),
                    None => text.push_str(&format!("\\x{b:02X}")),
                },
            }
        }
        text
    }

    /// Where this reading fails the file: the first place of a byte it does not define, or of
    /// a byte that makes a word no one writes; `None` when it reads the whole file as text.
    pub(super) fn fails(&self, survey: &Survey) -> Option<Place> {
        let undefined = survey
            .present()
            .filter(|i| self.table[*i].is_none())
            .filter_map(|i| survey.first[i].map(|(place, _)| place))
            .min_by_key(|p| p.offset);
        if undefined.is_some() {
            return undefined;
        }
        survey
            .words
            .iter()
            .filter_map(|(word, place)| {
                let at = self.odd_byte(word)?;
                Some(Place {
                    line: place.line,
                    offset: place.offset + at as u64,
                })
            })
            .min_by_key(|p| p.offset)
    }

    /// The index of the first byte of `word` this reading makes odd, if any.
    fn odd_byte(&self, word: &[u8]) -> Option<usize> {
        let chars: Vec<char> = word
            .iter()
            .map(|&b| match b {
                0..=0x7F => char::from(b),
                _ => self.table[usize::from(b - 0x80)].unwrap_or('\u{fffd}'),
            })
            .collect();
        (0..chars.len()).find(|&i| !word[i].is_ascii() && is_odd(&chars, i))
    }

    /// Whether every word holding a byte this reading and `other` read differently reads, in
    /// this reading, with the letters of one language: what the detector's guess must show
    /// before it is trusted over `other` (its statistics took windows-1250's `Iđdýr, Ţiţli`
    /// for Turkish `Iğdır, Şişli`). A word that fits no alphabet only withholds the trust: the
    /// file is then refused, never read otherwise.
    fn reads_as_one_language(&self, other: &Reading, survey: &Survey) -> bool {
        let differs = |b: &u8| {
            !b.is_ascii() && self.table[usize::from(b - 0x80)] != other.table[usize::from(b - 0x80)]
        };
        survey
            .words
            .keys()
            .filter(|word| word.iter().any(differs))
            .all(|word| in_one_alphabet(&self.read(word)))
    }

    /// Whether this reading reads every byte `survey` holds as `other` does.
    fn agrees_with(&self, other: &Reading, survey: &Survey) -> bool {
        survey.present().all(|i| self.table[i] == other.table[i])
    }

    /// How many distinct words of the file hold a byte this reading and `other` read
    /// differently.
    fn disputed(&self, other: &Reading, survey: &Survey) -> u64 {
        let mut differs = [false; 128];
        for i in survey.present() {
            differs[i] = self.table[i] != other.table[i];
        }
        let disputed = |b: &u8| !b.is_ascii() && differs[usize::from(b - 0x80)];
        survey
            .words
            .keys()
            .filter(|word| word.iter().any(disputed))
            .count() as u64
    }
}

/// What the file's bytes say about its encoding.
#[derive(Debug)]
pub(super) enum Verdict {
    /// This encoding reads it (and any other that reads it as text agrees).
    One(&'static Encoding),
    /// These readings each read the whole file as text, but disagree: on the line (as bytes)
    /// at this place, first.
    Ambiguous(Vec<Reading>, Place, Vec<u8>),
    /// No candidate reads the whole file as text.
    Unreadable,
}

/// Which encoding reads the file `survey` describes: the detector's `guess` (a single-byte
/// encoding; `confident` when the detector scored it above another) and the [`CANDIDATES`].
pub(super) fn decide(survey: &Survey, guess: &'static Encoding, confident: bool) -> Verdict {
    let mut tried: Vec<&'static Encoding> = vec![guess];
    tried.extend(CANDIDATES.iter().copied().filter(|e| *e != guess));
    let readable: Vec<Reading> = tried
        .into_iter()
        .map(Reading::new)
        .filter(|r| r.fails(survey).is_none())
        .collect();
    // One reading for each way of reading the file: the first of those that agree.
    let mut groups: Vec<Vec<Reading>> = Vec::new();
    for reading in readable {
        match groups
            .iter_mut()
            .find(|g| g[0].agrees_with(&reading, survey))
        {
            Some(group) => group.push(reading),
            None => groups.push(vec![reading]),
        }
    }
    let weighed = |e: &&Encoding| !UNWEIGHED.contains(e);
    if confident && groups.len() > 1 && weighed(&guess) && groups[0][0].encoding == guess {
        // The detector weighed the guess against these and had text enough to choose.
        let leader = groups[0][0].clone();
        // A reading is weighed when the detector weighed any encoding that reads the file so.
        groups.retain(|g| {
            g[0].encoding == guess
                || !g.iter().any(|r| weighed(&r.encoding))
                || leader.disputed(&g[0], survey) < TRUSTED_AFTER
                || !leader.reads_as_one_language(&g[0], survey)
        });
    }
    match groups.len() {
        0 => Verdict::Unreadable,
        1 => Verdict::One(groups[0][0].encoding),
        _ => {
            let readings: Vec<Reading> = groups.into_iter().map(|mut g| g.remove(0)).collect();
            let (place, line) = first_disagreement(survey, &readings);
            Verdict::Ambiguous(readings, place, line)
        }
    }
}

/// The first place of a byte `readings` do not all read alike, and its line.
fn first_disagreement(survey: &Survey, readings: &[Reading]) -> (Place, Vec<u8>) {
    survey
        .present()
        .filter(|i| {
            readings
                .iter()
                .any(|r| r.table[*i] != readings[0].table[*i])
        })
        .filter_map(|i| survey.first[i])
        .min_by_key(|(place, _)| place.offset)
        .map(|(place, line)| (place, survey.lines[line].clone()))
        .expect("readings that disagree disagree on a byte of the file")
}

/// The letters outside ASCII of the languages written in Latin letters that the candidates
/// serve (small letters). A word whose letters fit none of them (`Pøíbram`, `Iđdýr`) is not
/// proof of a misreading, but is reason enough not to trust the detector's guess.
const ALPHABETS: [&str; 26] = [
    "àâæçéèêëîïôœùûüÿ",        // French
    "áéíñóúü",                 // Spanish
    "áâãàçéêíóôõú",            // Portuguese
    "àèéìíîòóùú",              // Italian
    "àçèéíïòóúü",              // Catalan
    "äöüß",                    // German
    "áéíóúàèëïöü",             // Dutch
    "æøåéóàôè",                // Danish, Norwegian
    "åäöéü",                   // Swedish
    "åäöšž",                   // Finnish
    "áéíóúýþæöð",              // Icelandic
    "áčďéěíňóřšťúůýž",         // Czech
    "áäčďéíĺľňóôŕšťúýž",       // Slovak
    "ąćęłńóśźż",               // Polish
    "áéíóöőúüű",               // Hungarian
    "ăâîșşțţ",                 // Romanian
    "čćđšž",                   // Croatian, Bosnian, Serbian, Slovene
    "çë",                      // Albanian
    "çğıöşüâîû",               // Turkish
    "ąčęėįšųūž",               // Lithuanian
    "āčēģīķļņšūž",             // Latvian
    "äõöüšž",                  // Estonian
    "áéíóú",                   // Irish
    "âêîôûŵŷáéíóúàèìòùäëïöüÿ", // Welsh
    "ċġħżàèìòù",               // Maltese
    "äöüßàéèêç",               // Luxembourgish
];

/// Whether the letters outside ASCII of `word` are all of one alphabet of [`ALPHABETS`]
/// (or the word is not in Latin letters).
fn in_one_alphabet(word: &str) -> bool {
    let letters: Vec<char> = word
        .chars()
        .filter(|c| !c.is_ascii() && c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    if letters.iter().any(|c| script(*c) != Script::Latin) {
        return true;
    }
    ALPHABETS
        .iter()
        .any(|alphabet| letters.iter().all(|c| alphabet.contains(*c)))
}

/// Symbols written between two letters: apostrophes, a middle dot, dashes, a soft hyphen.
const BETWEEN_LETTERS: &str = "’‘´`·–—‐‑\u{ad}";
/// Symbols written before a word: opening quotes and marks, a degree sign, bullets.
const BEFORE_A_WORD: &str = "¿¡«»‹›„“”‘’‚°•–—…";
/// Symbols written after a word: marks, closing quotes, footnote signs, superscripts.
const AFTER_A_WORD: &str = "®™©°²³¹’”“»«›‹…‰†‡´";

/// The scripts that tell readings apart: a word mixes two of them only when misread.
#[derive(PartialEq, Clone, Copy)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

fn script(c: char) -> Script {
    match c {
        'a'..='z'
        | 'A'..='Z'
        | 'ª'
        | 'º'
        | 'µ'
        | '\u{c0}'..='\u{24f}'
        | '\u{1e00}'..='\u{1eff}' => Script::Latin,
        '\u{370}'..='\u{3ff}' => Script::Greek,
        '\u{400}'..='\u{52f}' => Script::Cyrillic,
        _ => Script::Other,
    }
}

/// Whether `chars[i]`, read from a byte outside ASCII, is odd in its word: a symbol inside a
/// word (other than an apostrophe or dash), a capital after a small letter or before one
/// inside a word, or a letter of another script than the word's other letters.
fn is_odd(chars: &[char], i: usize) -> bool {
    let c = chars[i];
    let prev = i.checked_sub(1).map(|p| chars[p]);
    let next = chars.get(i + 1).copied();
    let letter = |c: Option<char>| c.is_some_and(char::is_alphabetic);
    if c.is_alphabetic() {
        if chars
            .iter()
            .any(|o| o.is_alphabetic() && script(*o) != script(c))
        {
            return true;
        }
        let small = |c: Option<char>| c.is_some_and(char::is_lowercase);
        return c.is_uppercase() && (small(prev) || (letter(prev) && small(next)));
    }
    if c.is_numeric() || c.is_whitespace() {
        return false;
    }
    match (letter(prev), letter(next)) {
        (true, true) => !BETWEEN_LETTERS.contains(c),
        (false, true) => !BEFORE_A_WORD.contains(c),
        (true, false) => !AFTER_A_WORD.contains(c),
        (false, false) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn odd(encoding: &'static Encoding, text: &[u8]) -> bool {
        Reading::new(encoding).odd_byte(text).is_some()
    }

    #[test]
    fn misread_words_are_odd_and_words_as_written_are_not() {
        use encoding_rs::{MACINTOSH, WINDOWS_1250, WINDOWS_1251, WINDOWS_1252};
        // windows-1252 reading ISO-8859-15's Š and Ž; Mac Roman's ü; and as written.
        assert!(odd(WINDOWS_1252, b"\xa6koda"));
        assert!(odd(WINDOWS_1252, b"\xb4ilina"));
        assert!(odd(WINDOWS_1252, b"M\x9fller"));
        assert!(odd(MACINTOSH, b"Caf\xe9"), "CafÈ");
        assert!(odd(MACINTOSH, b"M\xfcller"), "M¸ller");
        assert!(odd(WINDOWS_1251, b"M\xfcller"), "Mьller");
        for word in [
            &b"M\xfcller"[..],
            b"Caf\xe9",
            b"\xdcber",
            b"na\xefve",
            b"d\xb4Artagnan",
        ] {
            assert!(!odd(WINDOWS_1252, word), "{}", WINDOWS_1252.decode(word).0);
        }
        assert!(!odd(MACINTOSH, b"M\x9fller"));
        assert!(!odd(WINDOWS_1250, b"\xa3\xf3d\x9f"), "Łódź");
        assert!(!odd(WINDOWS_1251, b"\xcc\xee\xf1\xea\xe2\xe0"), "Москва");
        assert!(!odd(WINDOWS_1252, b"20\xb0C"));
        assert!(!odd(WINDOWS_1252, b"Acme\xa0GmbH"), "a no-break space");
    }

    #[test]
    fn a_word_is_in_one_alphabet_or_not() {
        for word in [
            "Brûlée",
            "Dvořák",
            "Łódź",
            "Şişli",
            "Ångström",
            "Москва",
            "plain",
            "Gyõr",
        ] {
            assert!(in_one_alphabet(word), "{word}");
        }
        for word in ["Èerný", "Pøíbram", "Iđdýr", "Mźllerö"] {
            assert!(!in_one_alphabet(word), "{word}");
        }
    }
}
