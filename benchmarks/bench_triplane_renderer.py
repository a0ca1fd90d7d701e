"""THE volume renderer against a straightforward EG3D-style reference renderer, in one run.

Both render the same tri-plane and decoder along the same camera rays with the same number of
samples per ray and the same quadrature (alpha compositing, NeRF's); both are timed round-robin
in the same process, so machine load hits them alike. Variants:

- ``reference``: written here, independently of the project's renderer and in EG3D's plain
  style: a fixed near/far per ray (camera distance ± the cube's half-diagonal), uniform samples,
  one ``grid_sample`` call per plane (XY, XZ, YZ), averaged, the decoder, compositing; every
  sample is decoded. Its only departure from EG3D: density is 0 outside the cube (the tri-plane's
  domain), as in ours; EG3D's decoder would decode the zero padding there.
- ``ours_clip``: ``render_rays`` with its ray–box clipping to the scene cube and its fused
  sampling (one ``grid_sample`` call for the three planes).
- ``ours_occupancy``: the same, clipped to the box of an :class:`OccupancyGrid` of the field and
  querying the field only at samples in occupied cells.

Outputs are compared three ways: against the reference as timed (sample positions differ: the
reference spreads its samples over a fixed segment longer than the cube, ours over the part of
the ray inside the box), against the reference given ours' ray segments (identical samples: only
float rounding and skipped sub-threshold density may differ), and against a dense render (the
reference with many more samples), which says which of the two is closer to the integral.

Run ``python benchmarks/bench_triplane_renderer.py --help`` for the options; README.md beside
this file explains the measurements.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from rodin_pipelines.atomic_files import atomic_write_json
from rodin_pipelines.avatars.attributes import sample_attributes
from rodin_pipelines.avatars.scene import SceneSettings, bake_avatar_scene
from rodin_pipelines.rendering.camera_rig import CameraRig, sample_rig_cameras
from rodin_pipelines.rendering.cameras import SCENE_BOUND, Cameras
from rodin_pipelines.rendering.occupancy_grid import DEFAULT_DENSITY_THRESHOLD, OccupancyGrid
from rodin_pipelines.rendering.rays import Rays, rays_from_cameras
from rodin_pipelines.rendering.volume_renderer import VolumeRenderSettings, render_rays
from rodin_pipelines.triplane.decoder import DecoderConfig, TriplaneDecoder
from rodin_pipelines.triplane.field import TriplaneField
from rodin_pipelines.triplane.regularisers import total_variation
from rodin_pipelines.triplane.sampling import sample_triplane
from rodin_pipelines.triplane.storage import load_decoder, load_triplane

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "triplane_renderer.json"
AGREEMENT_TOLERANCE = 1e-3
"""Max |difference| of colour and opacity allowed between ours and the reference at identical
samples (float rounding, and skipped density below the grid's threshold)."""
REFERENCE_PLANE_AXES = ((0, 1), (0, 2), (1, 2))
"""World axes (width, height) of planes XY, XZ, YZ, spelled out again for the reference."""

Renderer = Callable[[Tensor], tuple[Tensor, Tensor]]
"""planes ``(3, C, R, R)`` → premultiplied colour ``(N, 3)``, opacity ``(N,)``."""


# --- The tri-plane: a real avatar's density and colour, fitted in 3D ------------------------

def fitted_avatar_triplane(resolution: int, channels: int, hidden: int, steps: int, seed: int
                           ) -> tuple[Tensor, TriplaneDecoder]:
    """A tri-plane ``(3, C, R, R)`` and decoder fitted to a procedural avatar's baked field.

    Supervision as the fit stage's 3D term (opacity over a 0.03 step, colour where opaque, TV),
    at points near the surface and uniform in the cube; an L1 penalty on density at empty points
    stands in for the fit stage's photometric background rays, which keep empty space empty.
    """
    scene = bake_avatar_scene(sample_attributes(seed), SceneSettings(grid_resolution=64))
    surface = scene.near_surface_points(0.06)
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the decoder's initial weights
    decoder = TriplaneDecoder(DecoderConfig(channels=channels, hidden=hidden))
    planes = (torch.randn(3, channels, resolution, resolution, generator=generator) * 0.05)
    planes.requires_grad_()
    optimiser = torch.optim.Adam([{"params": [planes], "lr": 0.03},
                                  {"params": decoder.parameters(), "lr": 3e-3}])
    for _ in range(steps):
        chosen = surface[torch.randint(len(surface), (4096,), generator=generator)]
        near = chosen + (torch.rand(4096, 3, generator=generator) - 0.5) * 0.06
        uniform = (torch.rand(4096, 3, generator=generator) * 2 - 1) * SCENE_BOUND
        points = torch.cat([near.clamp(-SCENE_BOUND, SCENE_BOUND), uniform])
        with torch.no_grad():
            true_density, true_colour = scene(points)
        density, colour = decoder(sample_triplane(planes, points))
        true_alpha = 1 - torch.exp(-0.03 * true_density)
        loss = ((1 - torch.exp(-0.03 * density) - true_alpha).pow(2).mean()
                + (true_alpha * (colour - true_colour).pow(2).mean(dim=-1)).mean()
                + 1e-3 * (density * (true_alpha < 1e-3)).mean()
                + 1e-2 * total_variation(planes))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return planes.detach(), decoder.eval().requires_grad_(False)


def camera_rays(count: int, image_size: int, seed: int) -> Rays:
    """``count`` rays through random pixels of the render stage's camera rig at ``image_size``²
    (as many views as needed): most miss the head, as in real renders and training batches."""
    rig = CameraRig()
    views = math.ceil(count / image_size**2)
    cameras = Cameras(sample_rig_cameras(rig, views, seed), rig.fov_x, image_size, image_size)
    rays = rays_from_cameras(cameras)
    return rays[torch.randperm(len(rays), generator=torch.Generator().manual_seed(seed))[:count]]


# --- The reference renderer: EG3D-style, no clipping, no skipping -----------------------------

def render_reference(planes: Tensor, decoder: TriplaneDecoder, origins: Tensor,
                     directions: Tensor, samples: int, bound: float = SCENE_BOUND,
                     segment: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """Premultiplied colour ``(N, 3)`` and opacity ``(N,)`` of ``N`` rays, every sample decoded.

    Samples lie between a near and a far distance fixed per ray (the camera distance ± the
    cube's half-diagonal), or on ``segment`` = (near ``(N, 1)``, far ``(N, 1)``) when given:
    only the agreement check passes ours' ray segments, to compare at identical samples.
    """
    count = origins.shape[0]
    if segment is None:
        camera_distance = origins.norm(dim=-1, keepdim=True)  # (N, 1)
        half_diagonal = math.sqrt(3.0) * bound
        near = (camera_distance - half_diagonal).clamp_min(0.0)
        far = camera_distance + half_diagonal
    else:
        near, far = segment
    fractions = (torch.arange(samples, device=origins.device, dtype=origins.dtype) + 0.5) / samples
    depths = near + (far - near) * fractions  # (N, S), bin centres
    points = origins[:, None, :] + depths[..., None] * directions[:, None, :]  # (N, S, 3)
    normalised = points / bound
    features = 0.0
    for plane, (width_axis, height_axis) in zip(planes, REFERENCE_PLANE_AXES):
        grid = torch.stack([normalised[..., width_axis], normalised[..., height_axis]], dim=-1)
        features = features + F.grid_sample(plane[None], grid[None], mode="bilinear",
                                            padding_mode="zeros", align_corners=False)[0]
    features = (features / 3.0).permute(1, 2, 0).reshape(count * samples, -1)  # (N*S, C)
    density, colour = decoder(features)
    inside = (points.abs() <= bound).all(dim=-1)
    density = density.reshape(count, samples) * inside
    colour = colour.reshape(count, samples, 3)
    deltas = torch.cat([depths[:, 1:] - depths[:, :-1], far - depths[:, -1:]], dim=-1)
    alpha = 1.0 - torch.exp(-density * deltas)
    transmittance = torch.cumprod(
        torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha + 1e-10], dim=-1), dim=-1
    )[:, :-1]
    weights = alpha * transmittance
    return (weights[..., None] * colour).sum(dim=1), weights.sum(dim=1)


def segment_in_box(origins: Tensor, directions: Tensor, lower: Tensor, upper: Tensor
                   ) -> tuple[Tensor, Tensor]:
    """Near and far ``(N, 1)`` of rays inside the box [lower, upper] (slab method), both 0 for
    rays that miss it, whose samples then sit at the camera, outside the cube, and add nothing."""
    inverse = 1.0 / torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9),
                                directions)
    first, second = (lower - origins) * inverse, (upper - origins) * inverse
    near = torch.minimum(first, second).amax(dim=-1, keepdim=True).clamp_min(0.0)
    far = torch.maximum(first, second).amin(dim=-1, keepdim=True)
    miss = far <= near
    return near.masked_fill(miss, 0.0), far.masked_fill(miss, 0.0)


# --- Measurements --------------------------------------------------------------------------

def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_once(renderer: Renderer, planes: Tensor, backward: bool) -> None:
    if not backward:
        with torch.no_grad():
            renderer(planes)
        return
    planes = planes.detach().requires_grad_()
    colour, opacity = renderer(planes)
    (colour.square().sum() + opacity.sum()).backward()


def median_seconds(renderers: dict[str, Renderer], planes: Tensor, backward: bool,
                   repeats: int, device: torch.device) -> dict[str, float]:
    """Median wall time per variant; variants alternate within each repeat (after a warm-up),
    so drifting machine load affects them alike."""
    times: dict[str, list[float]] = {name: [] for name in renderers}
    for renderer in renderers.values():
        run_once(renderer, planes, backward)
    for _ in range(repeats):
        for name, renderer in renderers.items():
            synchronise(device)
            start = time.perf_counter()
            run_once(renderer, planes, backward)
            synchronise(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


class PeakMemory:
    """Extra memory at the peak of a call, over what was in use before it.

    CUDA: ``torch.cuda.max_memory_allocated`` (tensors only). CPU on Linux/glibc: the process's
    peak resident set (``VmHWM``, reset through ``/proc/self/clear_refs``) minus its resident set
    before the call, with glibc's mmap threshold pinned at 64 KiB so freed tensors leave the
    resident set (set only for this phase: it slows allocation). Elsewhere: the growth of
    ``ru_maxrss``, which misses calls that stay below an earlier peak. ``tracemalloc`` would see
    none of it: torch allocates outside Python's allocator.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.libc = None
        if device.type == "cuda":
            self.method = "torch.cuda.max_memory_allocated - memory_allocated before"
            return
        try:
            libc = ctypes.CDLL("libc.so.6")
            with open("/proc/self/clear_refs", "w") as stream:
                stream.write("5")
            libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD
            self.libc = libc
            self.method = "VmHWM - VmRSS before (peak RSS reset per call, glibc mmap >= 64 KiB)"
        except OSError:
            self.method = "ru_maxrss growth (a lower bound: misses calls below an earlier peak)"

    def measure(self, call: Callable[[], None]) -> float:
        """Peak extra MiB of ``call()``."""
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            before = torch.cuda.memory_allocated(self.device)
            call()
            torch.cuda.synchronize(self.device)
            return (torch.cuda.max_memory_allocated(self.device) - before) / 2**20
        if self.libc is not None:
            self.libc.malloc_trim(0)
            with open("/proc/self/clear_refs", "w") as stream:
                stream.write("5")
            before = _status_kib("VmRSS")
            call()
            return (_status_kib("VmHWM") - before) / 1024
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        call()
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        return grown / (2**20 if sys.platform == "darwin" else 1024)  # bytes there, else KiB


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as stream:
        line = next(line for line in stream if line.startswith(key + ":"))
    return int(line.split()[1])


class CountingField:
    """A field that counts the points it is asked about (samples decoded per ray)."""

    def __init__(self, field: TriplaneField) -> None:
        self.field, self.points = field, 0

    def __call__(self, points: Tensor) -> tuple[Tensor, Tensor]:
        self.points += points.shape[0]
        return self.field(points)


# --- The run ---------------------------------------------------------------------------------

def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rays", type=int, default=16384, help="rays rendered per call")
    parser.add_argument("--samples", type=int, default=64, help="samples per ray (every variant)")
    parser.add_argument("--resolution", type=int, default=64, help="tri-plane resolution R")
    parser.add_argument("--channels", type=int, default=16, help="tri-plane channels C")
    parser.add_argument("--hidden", type=int, default=32, help="decoder hidden width")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per variant and mode")
    parser.add_argument("--image-size", type=int, default=64, help="camera image side in pixels")
    parser.add_argument("--fit-steps", type=int, default=300, help="Adam steps of the 3D fit")
    parser.add_argument("--grid-resolution", type=int, default=64, help="occupancy grid cells/side")
    parser.add_argument("--density-threshold", type=float, default=DEFAULT_DENSITY_THRESHOLD,
                        help="densities below this count as empty space")
    parser.add_argument("--dense-factor", type=int, default=8,
                        help="the dense render that judges accuracy uses this many times --samples")
    parser.add_argument("--planes", type=Path, help="a fitted tri-plane .safetensors instead")
    parser.add_argument("--decoder", type=Path, help="folder of decoder.safetensors/.json "
                        "(required with --planes)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (cuda:1, ...)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=0, help="avatar, cameras and fit seed")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="results JSON")
    arguments = parser.parse_args(argv)
    if arguments.planes is not None and arguments.decoder is None:
        parser.error("--planes needs --decoder")
    return arguments


def timed_grid(field: TriplaneField, arguments: argparse.Namespace, device: torch.device
               ) -> tuple[OccupancyGrid, float]:
    """The occupancy grid and the seconds its build took (after a warm-up build)."""
    for _ in range(2):
        synchronise(device)
        start = time.perf_counter()
        grid = OccupancyGrid.from_field(field, arguments.grid_resolution,
                                        arguments.density_threshold, device=device)
        synchronise(device)
    return grid, time.perf_counter() - start


def differences(output: tuple[Tensor, Tensor], against: tuple[Tensor, Tensor]) -> dict:
    colour, opacity = (output[0] - against[0]).abs(), (output[1] - against[1]).abs()
    return {"max_colour": colour.max().item(), "max_opacity": opacity.max().item(),
            "mean_colour": colour.mean().item(), "mean_opacity": opacity.mean().item()}


def main(argv: list[str] | None = None) -> dict:
    arguments = parse_arguments(argv)
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    device, samples = torch.device(arguments.device), arguments.samples
    started = time.perf_counter()
    if arguments.planes is not None:
        decoder = load_decoder(arguments.decoder).requires_grad_(False)
        planes, _ = load_triplane(arguments.planes, channels=decoder.config.channels)
        source = f"loaded from {arguments.planes}"
    else:
        planes, decoder = fitted_avatar_triplane(arguments.resolution, arguments.channels,
                                                 arguments.hidden, arguments.fit_steps,
                                                 arguments.seed)
        source = (f"fitted to avatar seed {arguments.seed} (baked at 64^3) in "
                  f"{arguments.fit_steps} Adam steps")
    planes, decoder = planes.to(device), decoder.to(device)
    rays = camera_rays(arguments.rays, arguments.image_size, arguments.seed)
    rays = Rays(rays.origins.to(device), rays.directions.to(device))
    print(f"planes {tuple(planes.shape)}, decoder hidden {decoder.config.hidden}, {source} "
          f"({time.perf_counter() - started:.1f} s); "
          f"{len(rays)} rays, {samples} samples/ray, device {device}, "
          f"{torch.get_num_threads()} CPU threads")
    field = TriplaneField(planes, decoder)
    grid, grid_seconds = timed_grid(field, arguments, device)
    box = grid.occupied_box()
    print(f"occupancy grid {grid.resolution}^3: {grid.occupied_fraction:.1%} occupied, box "
          f"{[round(v, 3) for v in box[0].tolist()]}..{[round(v, 3) for v in box[1].tolist()]}, "
          f"built in {grid_seconds * 1e3:.0f} ms")

    # Ours renders every ray in one chunk, as the reference does; no importance samples, since
    # the reference has none.
    settings = VolumeRenderSettings(coarse_samples=samples, fine_samples=0, jitter=False,
                                    chunk_rays=len(rays))

    def ours(field: TriplaneField | CountingField, occupancy: OccupancyGrid | None):
        # With a grid, rays are also clipped to its box; without, to the scene cube.
        rendered = render_rays(field, rays, settings, box=None if occupancy is None else box,
                               occupancy=occupancy)
        return rendered.colour, rendered.opacity

    renderers: dict[str, Renderer] = {
        "reference": lambda p: render_reference(p, decoder, rays.origins, rays.directions,
                                                samples),
        "ours_clip": lambda p: ours(TriplaneField(p, decoder), None),
        "ours_occupancy": lambda p: ours(TriplaneField(p, decoder), grid),
    }

    with torch.no_grad():
        outputs = {name: renderer(planes) for name, renderer in renderers.items()}
        # The judge of accuracy: the reference's own quadrature with dense_factor × the samples.
        dense_parts = [
            render_reference(planes, decoder, rays.origins[i : i + 1024],
                             rays.directions[i : i + 1024], samples * arguments.dense_factor)
            for i in range(0, len(rays), 1024)
        ]
        dense = tuple(torch.cat(part) for part in zip(*dense_parts))
        # Agreement at identical samples: the reference on ours' ray segments (the cube for
        # ours_clip, the grid's box for ours_occupancy).
        cube = (torch.full((3,), -SCENE_BOUND, device=device), torch.full((3,), SCENE_BOUND,
                                                                            device=device))
        agreement = {name: differences(outputs[name], render_reference(
            planes, decoder, rays.origins, rays.directions, samples,
            segment=segment_in_box(rays.origins, rays.directions, *segment_box)))
            for name, segment_box in (("ours_clip", cube), ("ours_occupancy", box))}
        # Skipping alone: the same box and sample positions, with and without the grid.
        same_positions = render_rays(field, rays, settings, box=box)
        decoded = {"reference": float(samples)}
        for name, occupancy in (("ours_clip", None), ("ours_occupancy", grid)):
            counting = CountingField(field)
            ours(counting, occupancy)
            decoded[name] = counting.points / len(rays)
    skipping = differences(outputs["ours_occupancy"],
                           (same_positions.colour, same_positions.opacity))

    forward = median_seconds(renderers, planes, False, arguments.repeats, device)
    backward = median_seconds(renderers, planes, True, arguments.repeats, device)
    memory = PeakMemory(device)
    peak = {backward_pass: {name: min(  # of two calls: page-level noise only ever adds
        memory.measure(lambda r=r: run_once(r, planes, backward_pass)) for _ in range(2))
        for name, r in renderers.items()} for backward_pass in (False, True)}

    variants = {name: {
        "decoded_samples_per_ray": decoded[name],
        "forward_rays_per_s": len(rays) / forward[name],
        "forward_backward_rays_per_s": len(rays) / backward[name],
        "speedup_forward": forward["reference"] / forward[name],
        "speedup_forward_backward": backward["reference"] / backward[name],
        "peak_mib_forward": peak[False][name],
        "peak_mib_forward_backward": peak[True][name],
        "vs_reference": differences(outputs[name], outputs["reference"]),
        "vs_dense": differences(outputs[name], dense),
    } for name in renderers}
    reference_error = variants["reference"]["vs_dense"]
    equal_output = {name: agreement[name]["max_colour"] <= AGREEMENT_TOLERANCE
                    and agreement[name]["max_opacity"] <= AGREEMENT_TOLERANCE
                    and all(variants[name]["vs_dense"][key] <= reference_error[key]
                            for key in reference_error)
                    for name in ("ours_clip", "ours_occupancy")}
    results = {
        "command": " ".join(["python", *sys.argv]),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(arguments).items()},
        "device": torch.cuda.get_device_name(device) if device.type == "cuda"
        else f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores)",
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "planes": {"shape": list(planes.shape), "source": source,
                   "decoder": decoder.config.to_dict()},
        "occupancy_grid": {"resolution": grid.resolution,
                           "density_threshold": arguments.density_threshold,
                           "occupied_fraction": grid.occupied_fraction,
                           "box": [box[0].tolist(), box[1].tolist()],
                           "build_seconds": grid_seconds},
        "agreement_same_samples": agreement,
        "skipping_error_same_positions": skipping,
        "equal_output": {"criterion": f"at identical samples, max |difference| from the reference "
                                      f"<= {AGREEMENT_TOLERANCE} (colour and opacity); at the "
                                      "benchmark's samples, error against the dense render no "
                                      "larger than the reference's (max and mean)",
                         **equal_output},
        "memory_method": memory.method,
        "variants": variants,
    }
    print_table(results)
    atomic_write_json(arguments.output, results)
    print(f"results written to {arguments.output}")
    return results


def print_table(results: dict) -> None:
    header = (f"{'variant':<15} {'samples/ray':>11} {'fwd rays/s':>11} {'f+b rays/s':>11} "
              f"{'fwd x':>6} {'f+b x':>6} {'fwd MiB':>8} {'f+b MiB':>8} "
              f"{'dC ref':>7} {'dA ref':>7} {'dC dense':>8} {'dA dense':>8}")
    print(header)
    print("-" * len(header))
    for name, v in results["variants"].items():
        print(f"{name:<15} {v['decoded_samples_per_ray']:>11.1f} "
              f"{v['forward_rays_per_s']:>11,.0f} {v['forward_backward_rays_per_s']:>11,.0f} "
              f"{v['speedup_forward']:>6.2f} {v['speedup_forward_backward']:>6.2f} "
              f"{v['peak_mib_forward']:>8.1f} {v['peak_mib_forward_backward']:>8.1f} "
              f"{v['vs_reference']['max_colour']:>7.3f} {v['vs_reference']['max_opacity']:>7.3f} "
              f"{v['vs_dense']['max_colour']:>8.3f} {v['vs_dense']['max_opacity']:>8.3f}")
    skip, grid = results["skipping_error_same_positions"], results["occupancy_grid"]
    equal, agreement = results["equal_output"], results["agreement_same_samples"]
    print("at identical samples (the reference on ours' ray segments): " + ", ".join(
        f"{name} max dC {a['max_colour']:.1e}, max dA {a['max_opacity']:.1e}"
        for name, a in agreement.items()))
    print("samples/ray: decoded per ray. x: speed-up over the reference. dC, dA: max |difference| "
          "of premultiplied colour and opacity against the reference (ref) and against a dense "
          "render (the reference with more samples; mean errors in the JSON).")
    print(f"skipping alone (same box and samples, with vs without the grid): max dC "
          f"{skip['max_colour']:.1e}, max dA {skip['max_opacity']:.1e}. Grid build "
          f"{grid['build_seconds'] * 1e3:.0f} ms, once per tri-plane, not in the timings.")
    print(f"equal output ({equal['criterion']}): ours_clip {equal['ours_clip']}, "
          f"ours_occupancy {equal['ours_occupancy']}. Memory: {results['memory_method']}.")


if __name__ == "__main__":
    main()
