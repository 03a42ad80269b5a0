"""Entry file of the MLflow "model from code": MLflow runs it to get the pyfunc model, so nothing is pickled."""

import mlflow.models

from matrixcoder.models.pyfunc import MatrixcoderPyfunc

mlflow.models.set_model(MatrixcoderPyfunc())
