"""``python -m lifter.data build|download``: make the benchmark's data files, or fetch the public sources.

    python -m lifter.data build --source ../shared/data --out data/
    python -m lifter.data download --out sources/      # then: build --source sources/ --out data/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from lifter.checked_files import file_in_the_way
    from lifter.data import download as download_mod
    from lifter.data.build import CATEGORY_NAMES, BuildConfig, build, check_source_folder, format_summary

    parser = argparse.ArgumentParser(prog="python -m lifter.data", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the npz files of every category and split")
    b.add_argument("--source", type=Path, required=True, help="folder in the layout of ../shared/data")
    b.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data/)")
    b.add_argument("--categories", nargs="+", default=list(CATEGORY_NAMES), choices=CATEGORY_NAMES,
                   help="build only these categories")
    b.add_argument("--seed", type=int, default=0, help="random seed of cameras, noise, occlusion, draws")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    d = sub.add_parser("download", help="fetch the public sources (pinned URLs, checksums, resumable)")
    download_mod.add_download_arguments(d)
    args = parser.parse_args(argv)

    if args.command == "download":
        return download_mod.run_download(args)
    if args.seed < 0:
        print(f"error: --seed must be >= 0, got {args.seed}", file=sys.stderr)
        return 2
    blocked = file_in_the_way(args.out)
    if blocked:
        print(f"error: --out {args.out}: {blocked} is a file: give the folder to write the data files in",
              file=sys.stderr)
        return 2
    replaced = sorted(p.name for c in args.categories for p in args.out.glob(f"{c}_*.npz"))
    try:
        check_source_folder(args.source, tuple(args.categories), BuildConfig(seed=args.seed))
        if replaced:                                # said once the sources are known to be there
            print(f"note: replacing {len(replaced)} files in {args.out} ({', '.join(replaced)}); the others there "
                  f"are kept, and build.json goes on recording them", file=sys.stderr)
        summary = build(args.source, args.out, tuple(args.categories), BuildConfig(seed=args.seed),
                        progress=not args.quiet)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except PermissionError as e:
        print(f"error: --out {args.out}: not writable ({e.strerror}: {e.filename})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: the files finished so far are written whole and recorded in {args.out / 'build.json'}; "
              f"the others keep their earlier build (run the same command again to finish)", file=sys.stderr)
        return 130
    print(format_summary(summary))
    print(f"wrote {len(summary)} files and build.json to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
