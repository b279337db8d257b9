"""A/B experiments: analysis options, the analysis of a split, verdicts, and the inputs a user can give."""
