"""Checks for playground: none.

The playground has no assignments; what "done" means is the learner's to
decide. Nothing here is run, but the lesson folder keeps the usual shape.
"""
