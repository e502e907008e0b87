"""Pictures people look at before they trust a run: learning curves, confusion matrices,
augmentation previews."""

from kerasext.plot.confusion import plot_confusion_matrix
from kerasext.plot.curves import plot_history
from kerasext.plot.preview import augmentation_grid
