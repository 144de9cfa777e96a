"""Figure helpers shared by the lessons."""

# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), in an order whose first
# colours differ most in lightness as well as hue; the experiment styles' cycles put several oranges
# or a light yellow next to each other.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9")
