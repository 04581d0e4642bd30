"""SLIC (Achanta et al., TPAMI 2012): scikit-image's ``slic`` and OpenCV ximgproc's SLIC.

The requested count sets the seed grid; connectivity enforcement then merges small
fragments, which lowers the count. ``slic`` therefore picks the ``n_segments`` handed
to scikit-image so that its seed grid has about ``n_segments`` cells, and re-runs (at
most ``max_runs`` runs in all) with a request scaled by target/realised while the
realised count is more than ``tolerance`` off. The OpenCV variant tries the two integer
grid pitches around ``sqrt(HW/K)``, at most twice the shorter side (larger pitches
crash OpenCV). (OpenCV's SLICO is not registered: on flat-colour test images its
boundary recall stays at 0.66-0.91.)

Both need an image at least one seed spacing ``sqrt(HW/K)`` across: on thinner images
(K below the aspect ratio) the clusters fragment along the image and connectivity
enforcement merges them, so far fewer superpixels than asked for come back (K = 100 on
1 × 100 000 gives 1, on 2 × 1000 from OpenCV 2). Both then warn (:class:`UserWarning`,
with the realised count); ``snic`` and ``watershed`` hit K on any aspect ratio.
"""

from __future__ import annotations

import math

from ssn.connectivity import enforce_connectivity
from ssn.validation import check_int, check_positive

from ._common import closest_count, opencv_labels, to_uint8, warn_if_thinner_than_a_cell


def _skimage_grid_count(n_request: int, height: int, width: int) -> int:
    from skimage.util import regular_grid

    slices = regular_grid((height, width), n_request)
    return len(range(*slices[0].indices(height))) * len(range(*slices[1].indices(width)))


def _request_for_grid(target: float, height: int, width: int) -> int:
    """The request whose scikit-image seed grid has the cell count closest to ``target``."""
    best, best_err = 1, math.inf
    lo = max(1, int(target * 0.6))
    hi = min(height * width, int(target * 1.6) + 2)
    # counts are monotone-ish but step-like: scan a coarse set of candidates
    step = max(1, (hi - lo) // 200)
    for r in range(lo, hi + 1, step):
        err = abs(_skimage_grid_count(r, height, width) - target)
        if err < best_err:
            best, best_err = r, err
    return best


def slic_skimage(
    rgb,
    n_segments,
    *,
    compactness=10.0,
    max_num_iter=10,
    sigma=0.0,
    tolerance=0.08,
    max_runs=4,
):
    from skimage.segmentation import slic

    compactness = check_positive("compactness", compactness)
    max_num_iter = check_int("max_num_iter", max_num_iter, 1)
    if not (isinstance(sigma, (int, float)) and sigma >= 0):
        raise ValueError(f"sigma must be a non-negative number, got {sigma!r}")
    tolerance = check_positive("tolerance", tolerance)
    max_runs = check_int("max_runs", max_runs, 1)
    height, width = rgb.shape[:2]

    counts = []  # of each run, for the next request

    def run(request):
        labels = slic(
            rgb,
            n_segments=request,
            compactness=compactness,
            max_num_iter=max_num_iter,
            sigma=sigma,
            start_label=0,
            channel_axis=-1,
            enforce_connectivity=True,
        )
        counts.append(int(labels.max()) + 1)
        return labels

    def requests():
        # scikit-image merges fragments below half the mean area, which removes 10-60% of
        # the seeds depending on the image: correct the request multiplicatively.
        request, tried = _request_for_grid(n_segments, height, width), set()
        for _ in range(max_runs):
            tried.add(request)
            yield request
            request = int(min(height * width, max(1, round(request * n_segments / counts[-1]))))
            if request in tried:
                return

    labels = closest_count(run, requests(), n_segments, tolerance)
    labels = enforce_connectivity(labels, n_segments, mode="split", min_size=0)
    return warn_if_thinner_than_a_cell("slic", labels, n_segments)


def _opencv_slic(name, rgb, n_segments, algorithm, ruler, num_iterations, min_element_size):
    import cv2

    height, width = rgb.shape[:2]
    img = to_uint8(rgb)
    lab = cv2.cvtColor(cv2.GaussianBlur(img, (3, 3), 0), cv2.COLOR_RGB2Lab)

    def run(region_size):
        sp = cv2.ximgproc.createSuperpixelSLIC(
            lab, algorithm=algorithm, region_size=region_size, ruler=ruler
        )
        return opencv_labels(sp, n_segments, num_iterations, min_element_size)

    step = math.sqrt(height * width / n_segments)
    # OpenCV places seeds on a grid of pitch `region_size` (an integer): try the two
    # nearest pitches and keep the count closer to the target. A pitch above twice the
    # shorter side crashes OpenCV (SIGSEGV, measured on every size up to 16 x 400).
    largest = 2 * min(height, width)
    sizes = {min(largest, max(1, math.floor(step))), min(largest, max(1, math.ceil(step)))}
    labels = closest_count(run, sorted(sizes), n_segments)
    return warn_if_thinner_than_a_cell(name, labels, n_segments)


def slic_opencv(rgb, n_segments, *, ruler=10.0, num_iterations=10, min_element_size=25):
    import cv2

    ruler = check_positive("ruler", ruler)
    num_iterations = check_int("num_iterations", num_iterations, 1)
    min_element_size = check_int("min_element_size", min_element_size, 0)
    return _opencv_slic(
        "slic-opencv", rgb, n_segments, cv2.ximgproc.SLIC, ruler, num_iterations, min_element_size
    )
