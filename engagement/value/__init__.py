"""Does engagement pay: the engagement score, programme ROI and the overview KPIs."""
