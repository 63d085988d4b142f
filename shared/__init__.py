"""Code both ends use: the wire protocol, barcode parsing, ids. Imports nothing of ours."""
