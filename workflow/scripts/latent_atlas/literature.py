"""Published numbers our maps are compared with, and where they come from.

Sainburg, McInnes & Gentner, "Parametric UMAP embeddings for representation and semisupervised
learning", Neural Computation 33 (2021), MNIST, 2-D maps of the pixels: maps fitted on 50,000
train points, the 10,000 test points placed with each method's transform; k-NN classifier fitted
on the train map and scored on the test map; trustworthiness on the first 10,000 train points
(k = 5); silhouette by true label on the train map. Values read from the authors' table
notebooks (timsainb/ParametricUMAP_paper).
"""

from __future__ import annotations

CITATION = (
    "Sainburg, McInnes & Gentner (2021), Parametric UMAP, Neural Computation 33; "
    "MNIST, 2-D maps of the pixels"
)

#: method -> metric -> value (MNIST, 2-D)
MNIST_2D: dict[str, dict[str, float]] = {
    "tsne": {
        "knn_acc_1": 0.9411,
        "knn_acc_5": 0.9502,
        "trustworthiness": 0.9874,
        "silhouette": 0.3498,
    },
    "umap": {
        "knn_acc_1": 0.9317,
        "knn_acc_5": 0.9544,
        "trustworthiness": 0.9601,
        "silhouette": 0.5186,
    },
    "parametric umap": {
        "knn_acc_1": 0.9402,
        "knn_acc_5": 0.9614,
        "trustworthiness": 0.9573,
        "silhouette": 0.5559,
    },
    "ae (2-d bottleneck)": {
        "knn_acc_1": 0.7647,
        "knn_acc_5": 0.7926,
        "trustworthiness": 0.9663,
        "silhouette": -0.0258,
    },
    "vae (2-d)": {
        "knn_acc_1": 0.7241,
        "knn_acc_5": 0.7649,
        "trustworthiness": 0.9513,
        "silhouette": 0.0627,
    },
    "pca": {
        "knn_acc_1": 0.3765,
        "knn_acc_5": 0.4201,
        "trustworthiness": 0.7434,
        "silhouette": 0.0228,
    },
}

#: k-NN accuracy in 64-D codes (same paper), for our latent-space reference rows
MNIST_64D: dict[str, dict[str, float]] = {
    "pca (64-d)": {"knn_acc_1": 0.9707, "knn_acc_5": 0.9727},
    "ae (64-d)": {"knn_acc_1": 0.9748, "knn_acc_5": 0.9758},
    "vae (64-d)": {"knn_acc_1": 0.9785, "knn_acc_5": 0.9791},
}

#: Chollet, "Building Autoencoders in Keras" (2016): MNIST, BCE loss, final train/val loss
KERAS_REFERENCE_LOSS = {"784-32-784, 50 epochs": 0.09, "deep 784-128-64-32, 100 epochs": 0.08}
