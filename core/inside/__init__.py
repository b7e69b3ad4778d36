"""Look inside a model: every layer's output, its weights, why it decides, and the map it learned."""
