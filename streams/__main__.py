"""`python -m streams worker -l info` starts a Faust worker with every feed's agent."""

from streams.app import app

if __name__ == "__main__":
    app.main()
