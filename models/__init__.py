"""Model bundles: pickle-free folders of arrays and JSON, and their MLflow pyfunc wrapper."""
