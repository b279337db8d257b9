"""The leadership layer: what changed and why, in plain words (issue 19): annotations, summaries, digests, alerts."""
