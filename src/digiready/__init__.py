"""digiready: teach and assess the Digital Capabilities Statement for Social Workers in Jupyter."""

__version__ = "0.1.0"
