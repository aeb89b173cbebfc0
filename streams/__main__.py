"""`python -m streams worker -l info` starts a Faust worker that ingests every feed."""

from streams.app import app

if __name__ == "__main__":
    app.main()
