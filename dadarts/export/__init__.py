"""Export: inference model, ONNX, int8 TFLite, TFLM check and C artifacts."""
