"""Audio and measurement: decoding, track sets and gains, BS.1770 metering, segments and the activity gate,
the export doctor and role guessing. Imports nothing from advice/ or llm/, and never torch or Qt."""
