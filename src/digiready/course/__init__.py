"""The course itself: layout, curriculum, items, scenarios, rubric.

Imports no other part of digiready: every other part may import it.
"""
