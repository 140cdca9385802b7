"""latent-atlas: the code behind the workflow's rules.

Entry scripts in ``workflow/scripts`` stay thin and call into these modules; the tests import
them directly. Heavy libraries (TensorFlow, umap, openTSNE) are imported inside the modules that
need them so that a rule pays only for what it uses.
"""

__version__ = "0.1.0"
