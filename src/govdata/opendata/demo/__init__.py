"""The demo city's open data (issue 14, §11), loaded after the sharing demo.

- The open catalog's read model from the published demo catalog (a few hundred datasets);
- identities for ``demo.citizen`` and ``demo.company`` and a developer key (``identity_demo``);
- pools for about 200 open datasets, generated and loaded through aggregation's load pipeline
  (``pools``), so that the releases step has data to release;
- desensitized releases built and published from the demo pools (``releases``);
- applications and correction requests in every state (``applications``);
- feedback, data requests and reuses in every state (``community``);
- downloads by the demo citizen (``portal``).

Each step is made through the platform's services and does nothing when it has run before, so
``govdata demo`` can be run again; each runs in its own transaction, so a failing step leaves
the ones before it in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.db import transaction
from govdata.opendata import datasets

__all__ = ["DemoOpenData", "load_demo_opendata", "run_demo_step"]


@dataclass(frozen=True)
class DemoOpenData:
    datasets: int
    pools: int
    releases: int
    applications: int
    contributions: int
    downloads: int
    key_secret: str | None


def load_demo_opendata(factory: sessionmaker[Session]) -> DemoOpenData:
    from govdata.opendata.demo.applications import demo_applications
    from govdata.opendata.demo.community import demo_community
    from govdata.opendata.demo.pools import demo_open_pools
    from govdata.opendata.demo.portal import demo_downloads
    from govdata.opendata.demo.releases import demo_releases
    from govdata.opendata.identity_demo import load_demo_identity

    with transaction(factory) as session:
        datasets.sync(session)
        count = datasets.count_open(session)
    with transaction(factory) as session:
        identity = load_demo_identity(session)
    # Each load commits on its own (the pipeline's transactions), before the releases read them.
    made_pools = demo_open_pools(factory)
    with transaction(factory) as session:
        made_releases = demo_releases(session)
    with transaction(factory) as session:
        made_applications = demo_applications(session)
    with transaction(factory) as session:
        contributions = demo_community(session)
    with transaction(factory) as session:
        downloads = demo_downloads(session)
    return DemoOpenData(
        datasets=count,
        pools=made_pools,
        releases=made_releases,
        applications=made_applications,
        contributions=contributions,
        downloads=downloads,
        key_secret=identity.key_secret if identity is not None else None,
    )


def run_demo_step(factory: sessionmaker[Session], console: Console) -> None:
    with console.status("正在生成演示开放数据（脱敏发布、开放申请、互动）……"):
        made = load_demo_opendata(factory)
    console.print(
        f"开放数据：开放目录 {made.datasets} 个数据集；本次载入演示资源池 {made.pools} 个，"
        f"发布脱敏数据 {made.releases} 个，"
        f"开放申请与目录纠错 {made.applications} 项，评价、需求与应用 {made.contributions} 项，"
        f"下载 {made.downloads} 次。"
    )
    if made.key_secret:
        console.print(f"demo.citizen 的开发者密钥（仅显示一次）：{made.key_secret}")
