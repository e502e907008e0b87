"""Pictures people look at before they trust a run: learning curves, augmentation previews."""

from kerasext.plot.curves import plot_history
from kerasext.plot.preview import augmentation_grid
