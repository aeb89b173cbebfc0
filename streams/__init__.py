"""Stream processing: Faust workers that normalize the four raw feeds into canonical appeals."""
