"""Stream processing: Faust agents that normalize the four raw feeds into canonical appeals."""
