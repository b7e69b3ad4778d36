"""Digit Lab core: all TensorFlow/Keras/NumPy logic, free of Streamlit."""
