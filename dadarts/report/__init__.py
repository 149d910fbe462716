"""`dadarts report RUN`: one self-contained HTML page of a run's figures, for whichever stages exist."""
