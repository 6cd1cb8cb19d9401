"""digiready: teach and assess the Digital Capabilities Statement for Social Workers in Jupyter."""

from digiready.deferred_imports import defer

__version__ = "0.1.0"

defer()  # before anything imports jsonschema (see digiready.deferred_imports)
