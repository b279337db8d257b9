"""Who comes back: cohorts, lifecycle stages, RFM segments, customer lifetime value and churn risk."""
