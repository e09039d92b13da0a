"""`make bench`: this project against a stock DRF + simplejwt peer and a bare Django ceiling."""
