"""Everything an upload may contain, in one place: limits, Keras classes, names, graph ops."""

from __future__ import annotations

MAX_UPLOAD_MB = 50  # largest accepted upload; the page sets the same in .streamlit/config.toml
MAX_UNPACKED_MB = 200  # largest total of weights a file may declare (zip members, HDF5 datasets)
MAX_CONFIG_MB = 2  # largest architecture JSON
MAX_PARAMS = 20_000_000  # far above any MNIST model; stops configs that would exhaust memory
MAX_LAYERS = 500
INSPECT_TIMEOUT_S = 20.0
INSPECT_MEMORY_MB = 1024

# Input shapes Digit Lab can feed (28x28 grey digits) and the number of MNIST classes.
ACCEPTED_INPUT_SHAPES = ((784,), (28, 28), (28, 28, 1))
NUM_CLASSES = 10

LAYERS = {
    "InputLayer", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D", "AveragePooling2D",
    "AvgPool2D", "Dropout", "Flatten", "Reshape", "BatchNormalization", "Activation", "ReLU",
    "LeakyReLU", "Softmax", "GlobalAveragePooling2D", "GlobalAvgPool2D",
}  # fmt: skip
MODELS = {"Sequential", "Functional", "Model"}
NESTED_OBJECTS = {
    # initializers
    "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Orthogonal", "OrthogonalInitializer", "Identity", "IdentityInitializer",
    # regularizers and constraints
    "L1", "L2", "L1L2", "OrthogonalRegularizer", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm",
    # dtype policies
    "DTypePolicy", "FloatDTypePolicy", "Policy",
    # plain data containers
    "__tuple__",
}  # fmt: skip
ACTIVATIONS = {
    "relu", "sigmoid", "softmax", "tanh", "linear", "elu", "selu", "softplus", "softsign",
    "swish", "silu", "gelu", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
    "leaky_relu", "relu6", "log_softmax", "mish",
}  # fmt: skip
# Functions Keras may serialize as {"class_name": "function"} (activations inside layers).
FUNCTION_NAMES = ACTIVATIONS
NAMED_OBJECTS = {
    "_initializer": {
        "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
        "lecun_uniform", "zeros", "ones", "random_normal", "random_uniform", "truncated_normal",
        "orthogonal", "identity", "variance_scaling", "constant",
    },
    "_regularizer": {"l1", "l2", "l1_l2", "orthogonal_regularizer"},
    "_constraint": {"max_norm", "non_neg", "nonneg", "unit_norm", "min_max_norm"},
}  # fmt: skip
CODE_KEYS = {"function", "function_type", "__lambda__", "__python_function__", "fn_code"}
# Compile settings (optimizer, loss, metrics): uploads are never compiled, so whatever they
# name (tf.keras 2.x writes "Custom>Adam") is never turned into an object and is not checked.
IGNORED_CONFIG_KEYS = {"compile_config", "training_config"}

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
KERAS_ZIP_MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}

# Graph-only SavedModels (model.export, tf.saved_model.save): the ops a serving signature may
# reach. Pure tensor math on tensors already in memory: nothing that touches files, the console,
# queues, datasets, Python, or that could grow a tensor far beyond its inputs (Fill, Tile).
GRAPH_OPS = {
    "Placeholder", "Const", "Identity", "IdentityN", "NoOp", "StopGradient",
    "VarHandleOp", "ReadVariableOp", "PartitionedCall", "StatefulPartitionedCall",
    "MatMul", "BatchMatMulV2", "BiasAdd", "Conv2D", "DepthwiseConv2dNative", "MaxPool",
    "AvgPool", "FusedBatchNormV3", "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Softplus",
    "Softsign", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Erf", "Exp", "Log", "Sqrt",
    "Rsqrt", "Square", "Abs", "Neg", "Add", "AddV2", "Sub", "Mul", "RealDiv", "Div",
    "Maximum", "Minimum", "SquaredDifference", "Pow", "Mean", "Sum", "Max", "Min",
    "Reshape", "Squeeze", "ExpandDims", "Transpose", "ConcatV2", "Pack", "Unpack", "Shape",
    "StridedSlice", "Slice", "Cast", "GreaterEqual", "Greater", "Less", "SelectV2",
}  # fmt: skip
# Objects tf.saved_model.load may rebuild: plain containers, functions and variables; no assets,
# resources (hash tables) or custom savers, whose functions would run at load time.
GRAPH_USER_OBJECTS = {
    "_generic_user_object", "trackable_list_wrapper", "trackable_dict_wrapper",
    "trackable_tuple_wrapper", "signature_map",
}  # fmt: skip
GRAPH_OBJECT_KINDS = {"user_object", "function", "variable", "bare_concrete_function"}
MAX_GRAPH_MB = 20  # largest saved_model.pb
MAX_CONST_MB = 32  # largest constant a graph may hold (a splat constant may declare any shape)
SERVING_SIGNATURE = "serving_default"
