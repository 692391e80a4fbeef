"""Training, evaluation and export. Imports TensorFlow: never imported by the serving path."""
