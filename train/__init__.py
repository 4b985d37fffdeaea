"""DQT training (optional: needs the [train] extra, PyTorch + scikit-learn).

    arch, resnet, fold        torchvision-layout float ResNets, their golden IR, BatchNorm folding
    quant, qlayers, nested    nested fake-quant in the code domain (exact in float64), the controller
    calibrate, dqt, float_train   step initialization, DQT training (α static widths, β cost), float pre-training
    export, int_emulation     NestedNet -> golden NestedModel / model file; int64 PyTorch twin of the golden run
    data, safe_pickle, batches    digits (bundled) and CIFAR-10 (binary or restricted-unpickled python batches)
    evaluate, report, pipeline    accuracy / BitOPs at each width and dynamic; table, JSON, CSV, PNG
    importer                  float checkpoints -> calibrated nested-integer model files
Nothing in golden/ imports this package.
"""
