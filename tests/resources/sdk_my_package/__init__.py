"""The ``my_package`` of the source document: its ``cereal`` subpackage holds assets."""
