"""What customers say: NPS, CSAT and comment themes, on one survey-scale definition."""
