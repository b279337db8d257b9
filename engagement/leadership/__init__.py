"""The leadership layer: the few numbers that matter, in plain words, on paper and in the inbox.

``summary`` computes them for a period with their changes against the period before and the same period last
year (with the change's interval), ``targets`` keeps the targets analysts set per metric, ``headlines`` turns
numbers into sentences that never claim more than the interval allows, ``alerts`` keeps rules on registered
metrics and evaluates them after every load, ``digest`` renders the summary to Markdown, HTML or PDF and
``mail`` sends it through SMTP, and ``annotations`` keeps the dated notes every time-series chart draws. It reads the domain packages and the metric registry; it never imports the
presentation layer (charts arrive as PNG bytes from the caller).
"""
