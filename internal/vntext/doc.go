// Package vntext holds the Vietnamese text utilities that bantin's
// summarisers, the LLM faithfulness check and search share: a sentence
// splitter that knows Vietnamese abbreviations and number formats, a figure
// finder for the numbers-with-units that meeting reports are made of, number
// parsing with Vietnamese conventions (decimal comma, dot for thousands), and
// folding for diacritic-insensitive search.
//
// Input text is expected to be NFC-normalised, as ingest produces it. The
// functions never panic on other input (including invalid UTF-8), but
// decomposed text may miss abbreviations and units.
package vntext
