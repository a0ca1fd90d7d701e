"""Render one avatar's views with Blender Cycles. Runs INSIDE the Blender environment.

Started by :mod:`rodin_pipelines.avatars.backends.blender_renderer` as
``<blender env>/bin/python -I blender_worker.py --scene scene.json --cameras cameras.json
--output OUT --threads N``. It may import only the standard library, ``bpy`` (with its
``mathutils``) and numpy: that environment has neither torch nor this package, and ``-I`` keeps
this file's folder off ``sys.path``.

Input: ``scene.json`` + ``meshes.npz`` (see ``blender_scene.py``: the attribute set, part meshes,
lights, Cycles settings) and a NeRF-synthetic ``cameras.json`` (camera-to-world matrices,
``camera_angle_x``, ``w``, ``h``, ``file_path`` per frame). Output: ``OUT/<file_path>.png``
(RGBA, straight alpha, transparent background) per frame, then ``OUT/transforms.json`` with the
matrices read back from Blender's cameras (written last: its presence means the job finished).

Axes, the one conversion between the project's world and Blender's: the world is +y up with the
face towards +z; Blender is +z up with an object's front facing -y (its "Front" view looks along
+y). A +90 degree rotation about x, ``(x, y, z) -> (x, -z, y)``, maps one to the other and is
applied to every vertex, light direction and camera (:data:`BLENDER_FROM_WORLD`). Cameras need
nothing else: Blender's, like NeRF-synthetic's, look down their local -z with +y up.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

SCENE_FORMAT = 1
"""Must match ``blender_scene.SCENE_FORMAT`` (the worker cannot import it)."""

BLENDER_FROM_WORLD = np.array(
    [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
WORLD_FROM_BLENDER = BLENDER_FROM_WORLD.T

# Material looks per part name (Principled BSDF inputs); the colour comes from the attribute
# set's palette. Hair-like parts are rough with sheen, eyes glossy under a clear coat, skin has
# a little subsurface scattering, fabrics are matte.
MATERIAL_LOOKS: dict[str, dict[str, float]] = {
    "skin": {"Roughness": 0.55, "Subsurface Weight": 0.12, "Specular IOR Level": 0.35},
    "clothes": {"Roughness": 0.9, "Sheen Weight": 0.1, "Specular IOR Level": 0.2},
    "hat": {"Roughness": 0.85, "Sheen Weight": 0.1, "Specular IOR Level": 0.2},
    "hat band": {"Roughness": 0.45},
    "hair": {"Roughness": 0.6, "Sheen Weight": 0.1, "Specular IOR Level": 0.4},
    "eyebrows": {"Roughness": 0.7, "Sheen Weight": 0.1},
    "moustache": {"Roughness": 0.7, "Sheen Weight": 0.1},
    "beard": {"Roughness": 0.7, "Sheen Weight": 0.1},
    "sclera": {"Roughness": 0.2, "Coat Weight": 0.6},
    "iris": {"Roughness": 0.15, "Coat Weight": 1.0},
    "pupil": {"Roughness": 0.1, "Coat Weight": 1.0},
    "mouth": {"Roughness": 0.35, "Subsurface Weight": 0.1},
    "glasses": {"Roughness": 0.25, "Coat Weight": 0.5},
}
METAL_FRAMES = ("gold", "silver")
"""Glasses frame colours rendered as metal (the others are plastic)."""
HAIR_PARTS = ("hair", "eyebrows", "moustache", "beard")
STRAND_DISPLACEMENT = 0.004
"""World units of the noise displacement that gives hair a strand texture at 256² (well under a
pixel at 64², so silhouettes match the other backend)."""
SMOOTHED_PARTS = ("skin", "clothes", "hair", "hat", "beard")
"""Large parts whose marching-cubes terraces a Smooth modifier removes (thin ones would shrink)."""
SUN_ANGLE_DEGREES = 8.0
"""Angular size of the two suns: slightly soft shadows."""


def srgb_to_linear(colour: list[float]) -> tuple[float, float, float]:
    """The palette is sRGB display values; Cycles shades in linear light."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in colour)


def blender_matrix(world_matrix: np.ndarray) -> Matrix:
    """A world 4x4 (camera-to-world or object) as a Blender matrix."""
    return Matrix((BLENDER_FROM_WORLD @ world_matrix).tolist())


def blender_direction(direction: list[float]) -> Vector:
    """A world direction ``(3,)`` in Blender's axes, unit length."""
    return Vector((BLENDER_FROM_WORLD[:3, :3] @ np.asarray(direction, float)).tolist()).normalized()


def reset_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def configure_cycles(scene: bpy.types.Scene, render: dict, width: int, height: int,
                     threads: int) -> None:
    """Cycles on the CPU with the job's samples, denoiser and bounces; transparent film."""
    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = int(render["samples"])
    cycles.use_adaptive_sampling = True
    cycles.adaptive_threshold = float(render["adaptive_threshold"])
    cycles.use_denoising = bool(render["denoise"])
    if cycles.use_denoising:
        # OpenImageDenoise runs on the CPU; albedo + normal guides keep edges and texture.
        cycles.denoiser = "OPENIMAGEDENOISE"
        cycles.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        cycles.denoising_prefilter = "FAST"
    cycles.max_bounces = int(render["max_bounces"])
    cycles.diffuse_bounces = min(2, cycles.max_bounces)
    cycles.glossy_bounces = min(2, cycles.max_bounces)
    cycles.transmission_bounces = 0
    cycles.volume_bounces = 0
    cycles.transparent_max_bounces = 2
    cycles.caustics_reflective = cycles.caustics_refractive = False
    cycles.seed = int(render["seed"])
    scene.render.film_transparent = True
    scene.render.use_persistent_data = True  # keep the BVH between views
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    # "Standard" writes sRGB of the linear result, like the palette's values; no filmic curve.
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    image = scene.render.image_settings
    image.file_format, image.color_mode, image.color_depth = "PNG", "RGBA", "8"
    image.compression = 15


def add_world_light(scene: bpy.types.Scene, lighting: dict) -> None:
    """Ambient light brighter from above: radiance ``a + b * up`` over the sky.

    A Lambertian surface under it reflects ``albedo * (a + 2/3 b n_up)``, so ``a`` and ``b`` are
    chosen to give the built-in shader's ``ambient * (1 - bias + bias * n_up)``.
    """
    ambient, bias = lighting["ambient"], lighting["sky_bias"]
    world = bpy.data.worlds.new("ambient")
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    background = nodes["Background"]
    coordinates = nodes.new("ShaderNodeTexCoord")
    axes = nodes.new("ShaderNodeSeparateXYZ")
    strength = nodes.new("ShaderNodeMath")
    strength.operation = "MULTIPLY_ADD"
    strength.inputs[1].default_value = 1.5 * ambient * bias
    strength.inputs[2].default_value = ambient * (1.0 - bias)
    links.new(coordinates.outputs["Generated"], axes.inputs["Vector"])
    links.new(axes.outputs["Z"], strength.inputs[0])  # Blender's up
    links.new(strength.outputs["Value"], background.inputs["Strength"])
    background.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)


def add_sun(name: str, direction: list[float], strength: float) -> None:
    """A sun shining from world ``direction`` (towards the light), as the built-in shader's."""
    light = bpy.data.lights.new(name, "SUN")
    # Cycles suns give irradiance ``strength``; a Lambertian surface reflects albedo/pi of it.
    light.energy = math.pi * strength
    light.angle = math.radians(SUN_ANGLE_DEGREES)
    sun = bpy.data.objects.new(name, light)
    # A sun shines along its local -z, so its +z points at the light.
    sun.rotation_euler = blender_direction(direction).to_track_quat("Z", "Y").to_euler()
    bpy.context.scene.collection.objects.link(sun)


def make_material(part: dict, attributes: dict) -> bpy.types.Material:
    """A Principled BSDF with the part's palette colour and its look from the attribute set."""
    material = bpy.data.materials.new(part["name"])
    material.use_nodes = True
    shader = material.node_tree.nodes["Principled BSDF"]
    shader.inputs["Base Color"].default_value = (*srgb_to_linear(part["albedo_srgb"]), 1.0)
    for socket, value in MATERIAL_LOOKS.get(part["name"], {"Roughness": 0.6}).items():
        shader.inputs[socket].default_value = value
    if part["name"] == "glasses" and attributes.get("glasses_colour") in METAL_FRAMES:
        shader.inputs["Metallic"].default_value = 1.0
    return material


def add_part(part: dict, meshes: np.lib.npyio.NpzFile, attributes: dict) -> None:
    """One part as a Blender object: its mesh, modifiers and material."""
    vertices = meshes[part["vertices"]].astype(np.float64)
    faces = meshes[part["faces"]]
    vertices = vertices @ BLENDER_FROM_WORLD[:3, :3].T
    mesh = bpy.data.meshes.new(part["name"])
    # Bulk array copies: from_pydata goes through Python lists, seconds for 256^3 meshes.
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update()
    mesh.validate()
    mesh.shade_smooth()
    mesh.materials.append(make_material(part, attributes))
    obj = bpy.data.objects.new(part["name"], mesh)
    bpy.context.scene.collection.objects.link(obj)
    if part["name"] in SMOOTHED_PARTS:
        smooth = obj.modifiers.new("smooth", "SMOOTH")
        smooth.factor, smooth.iterations = 0.5, 2
    if part["name"] in HAIR_PARTS:
        texture = bpy.data.textures.new(part["name"] + " strands", "STUCCI")
        texture.noise_scale = 0.02
        displace = obj.modifiers.new("strands", "DISPLACE")
        displace.texture, displace.strength, displace.mid_level = texture, STRAND_DISPLACEMENT, 0.5


def build_scene(scene_file: Path, width: int, height: int, threads: int) -> bpy.types.Scene:
    """The avatar, its lights and Cycles settings, from ``scene.json`` and its meshes."""
    description = json.loads(scene_file.read_text(encoding="utf-8"))
    if description.get("format") != SCENE_FORMAT:
        raise SystemExit(f"{scene_file}: scene format {description.get('format')} is not "
                         f"{SCENE_FORMAT}; the worker and the pipeline are from different versions")
    scene = reset_scene()
    configure_cycles(scene, description["render"], width, height, threads)
    lighting = description["lighting"]
    add_world_light(scene, lighting)
    add_sun("key", lighting["key_direction"], lighting["key_strength"])
    add_sun("fill", lighting["fill_direction"], lighting["fill_strength"])
    with np.load(scene_file.parent / description["meshes"], allow_pickle=False) as meshes:
        for part in description["parts"]:
            add_part(part, meshes, description["attributes"])
    return scene


def render_views(scene: bpy.types.Scene, cameras: dict, output: Path) -> list[dict]:
    """Render every frame of ``cameras`` into ``output``; the frames as Blender saw them."""
    camera_data = bpy.data.cameras.new("camera")
    camera_data.sensor_fit = "HORIZONTAL"  # camera_angle_x is the horizontal field of view
    camera_data.angle = float(cameras["camera_angle_x"])
    camera_data.clip_start, camera_data.clip_end = 0.05, 100.0
    camera = bpy.data.objects.new("camera", camera_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    frames = []
    for frame in cameras["frames"]:
        camera.matrix_world = blender_matrix(np.asarray(frame["transform_matrix"], float))
        bpy.context.view_layer.update()
        target = output / (frame["file_path"] + ".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        scene.render.filepath = str(target)
        started = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        seen = WORLD_FROM_BLENDER @ np.array(camera.matrix_world)
        frames.append({"file_path": frame["file_path"], "transform_matrix": seen.tolist(),
                       "render_seconds": round(time.perf_counter() - started, 4)})
    return frames


def write_json_atomically(path: Path, payload: dict) -> None:
    temporary = path.with_name(".tmp-" + path.name)
    temporary.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", type=Path, required=True)
    parser.add_argument("--cameras", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    arguments = parser.parse_args(argv)
    cameras = json.loads(arguments.cameras.read_text(encoding="utf-8"))
    width, height = int(cameras["w"]), int(cameras["h"])
    started = time.perf_counter()
    scene = build_scene(arguments.scene, width, height, arguments.threads)
    setup_seconds = time.perf_counter() - started
    arguments.output.mkdir(parents=True, exist_ok=True)
    frames = render_views(scene, cameras, arguments.output)
    write_json_atomically(arguments.output / "transforms.json", {
        "camera_angle_x": scene.camera.data.angle_x, "w": width, "h": height,
        "blender": bpy.app.version_string, "setup_seconds": round(setup_seconds, 4),
        "frames": frames,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
