"""People: faces grouped by their embeddings, and the user's corrections kept through every
re-grouping.

Incrementally (after each batch of the second pass) a new face joins the person of its nearest
sorted face when that face is within MATCH_DISTANCE, unless that person holds a face of the
same picture or a face the user said it is not (apart.py): of two faces of one photo near one
person, the nearer joins. Faces that join nobody stay unsorted, and unsorted faces that are
close to each other in at least MIN_PHOTOS different photos become a new person (density
clustering, DBSCAN-like: one-off strangers stay unsorted). Faces that are left and close to
each other in two photos become a person too, one the library only suggests (seen in
SUGGEST_PHOTOS photos: listed apart until it is named or seen in MIN_PHOTOS photos), so that
someone met twice is not lost.

A full re-clustering (on demand) starts again from the user's corrections: faces the user
confirmed (by naming, hiding or merging their person) stay where they are, faces they said are
not someone never join that someone's faces again, and new groups keep the id of the person
most of their faces belonged to, so ids stay stable for the CLI.
"""

from __future__ import annotations

import numpy as np

from core.people.apart import Apart
from core.store import Catalog

# Euclidean distance between dlib embeddings. dlib's own rule of thumb is 0.6; measured on the
# faces that ship with scikit-image and matplotlib (tests/test_people.py), the same face after
# flips, crops, 2-3x scales and brightness changes is within 0.25 of itself and the two
# different people are 0.60-0.83 apart. 0.5 keeps a margin on both sides.
MATCH_DISTANCE = 0.5
MIN_PHOTOS = 3  # a new person needs faces in this many different photos (2 let a badge the
# detector took for a face, in two photos of tests/test_people.py, become a person)
SUGGEST_PHOTOS = 2  # ...and faces left over, seen in this many, a suggested one
_CHUNK = 256


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def join_nearest(new: np.ndarray, new_ids: np.ndarray, known: np.ndarray, known_people: np.ndarray,
                 apart: Apart, threshold: float = MATCH_DISTANCE) -> dict[int, int]:
    """face id → person: each new face joins the person of its nearest known face within the
    threshold that `apart` allows (holding the known faces already), nearest pairs first, so
    that of two faces of one photo the nearer joins."""
    out: dict[int, int] = {}
    if not len(new) or not len(known):
        return out
    limit = threshold * threshold
    pairs = []  # (distance, new face's row, person): each person once per face, at its nearest
    for start in range(0, len(new), _CHUNK):
        d = _squared_distances(new[start:start + _CHUNK], known)
        for row in range(len(d)):
            close = np.nonzero(d[row] <= limit)[0]
            close = close[np.argsort(d[row][close], kind="stable")]
            people, first = np.unique(known_people[close], return_index=True)
            pairs += [(float(d[row][close[i]]), start + row, int(p))
                      for p, i in zip(people.tolist(), first.tolist(), strict=True)]
    for _, row, person in sorted(pairs):
        face_id = int(new_ids[row])
        if face_id not in out and apart.allows(person, face_id):
            out[face_id] = person
            apart.hold(person, face_id)
    return out


def density_groups(ids: np.ndarray, media: np.ndarray, matrix: np.ndarray,
                   threshold: float = MATCH_DISTANCE, min_photos: int = MIN_PHOTOS,
                   apart: Apart | None = None) -> list[list[int]]:
    """Groups of faces (ids) close to each other in at least `min_photos` different photos;
    the rest belong to no group. DBSCAN with eps = threshold, where a core face has
    neighbours in min_photos photos (its own included). Two faces of one photo are two people:
    a group never takes a second face from a photo it already holds, nor a face `apart` keeps
    from one it holds."""
    n = len(ids)
    if n < min_photos:
        return []
    if apart is None:
        apart = Apart(dict(zip(ids.tolist(), media.tolist(), strict=True)), {})
    limit = threshold * threshold
    neighbours: list[np.ndarray] = []
    for start in range(0, n, _CHUNK):
        d = _squared_distances(matrix[start:start + _CHUNK], matrix)
        for row in range(len(d)):
            close = np.nonzero(d[row] <= limit)[0]
            neighbours.append(close[np.argsort(d[row][close], kind="stable")])
    core = [len(set(media[nb].tolist())) >= min_photos for nb in neighbours]
    label = np.full(n, -1)
    groups: list[list[int]] = []
    for i in range(n):
        if label[i] != -1 or not core[i]:
            continue
        g = len(groups)
        owner = ("group", min_photos, g)
        members = []
        queue = [i]
        while queue:
            j = queue.pop(0)
            if label[j] != -1 or not apart.allows(owner, int(ids[j])):
                continue
            label[j] = g
            members.append(j)
            apart.hold(owner, int(ids[j]), int(media[j]))
            if core[j]:
                queue.extend(int(k) for k in neighbours[j] if label[k] == -1)
        groups.append(members)
    return [[int(ids[j]) for j in members] for members in groups
            if len({int(media[j]) for j in members}) >= min_photos]


def people_groups(ids: np.ndarray, media: np.ndarray, matrix: np.ndarray,
                  threshold: float = MATCH_DISTANCE, min_photos: int = MIN_PHOTOS,
                  apart: Apart | None = None) -> list[list[int]]:
    """The groups that become people: density groups of min_photos photos, then, among the
    faces left, those of SUGGEST_PHOTOS (suggestions). Two rounds rather than one with the
    lower bound: with it, a chain of faces each close to the next could join two people."""
    groups = density_groups(ids, media, matrix, threshold, min_photos, apart)
    if min_photos <= SUGGEST_PHOTOS:
        return groups
    left = ~np.isin(ids, [f for g in groups for f in g])
    return groups + density_groups(ids[left], media[left], matrix[left], threshold,
                                   SUGGEST_PHOTOS, apart)


class FaceClustering:
    """Sorting faces into people, on a catalog (which does all the SQL)."""

    def __init__(self, catalog: Catalog, threshold: float = MATCH_DISTANCE,
                 min_photos: int = MIN_PHOTOS):
        self.catalog = catalog
        self.threshold = threshold
        self.min_photos = min_photos

    def _apart(self) -> Apart:
        """Who may not join whom: one face a picture (a photo, a video's moment), and the
        user's "not this person"; the pictures people hold by faces without a vector too."""
        apart = Apart(self.catalog.face_pictures(), self.catalog.faces_apart())
        for person, picture in self.catalog.held_without_vectors():
            apart.hold(person, -1, picture)
        return apart

    def update(self) -> int:
        """Sort the unsorted faces: join existing people, or form new ones. Returns how many
        faces found a person."""
        ids, media, people, matrix = self.catalog.face_vectors()
        if not len(ids):
            return 0
        must = self.catalog.face_constraints()
        apart = self._apart()
        sorted_mask = people > 0
        for face_id, person in zip(ids[sorted_mask].tolist(), people[sorted_mask].tolist(),
                                   strict=True):
            apart.hold(person, face_id)
        new = ~sorted_mask
        assign: dict[int, int] = {}
        for face_id in ids[new].tolist():  # a confirmed face that lost its person gets it back
            if face_id in must:
                assign[face_id] = must[face_id]
                apart.hold(must[face_id], face_id)
        new &= ~np.isin(ids, list(assign))
        assign.update(join_nearest(matrix[new], ids[new], matrix[sorted_mask],
                                   people[sorted_mask], apart, self.threshold))
        rest = new & ~np.isin(ids, list(assign))
        groups = people_groups(ids[rest], media[rest], matrix[rest], self.threshold,
                               self.min_photos, apart)
        if assign or groups:
            self.catalog.set_face_people(assign, groups)
        return len(assign) + sum(len(g) for g in groups)

    def recluster(self) -> dict:
        """Sort every face again from the start, keeping the user's corrections."""
        ids, media, people, matrix = self.catalog.face_vectors()
        must = self.catalog.face_constraints()
        if not len(ids):
            return {"people": 0, "sorted": 0, "unsorted": 0}
        apart = self._apart()
        fixed = np.array([int(i) in must for i in ids.tolist()], bool)
        anchored = np.array([must.get(int(i), 0) for i in ids.tolist()], np.int64)
        free = ~fixed
        assign: dict[int, int | None] = {int(i): None for i in ids[free].tolist()}
        assign.update({int(i): int(p) for i, p in zip(ids[fixed].tolist(), anchored[fixed].tolist(),
                                                       strict=True)})
        for face_id, person in zip(ids[fixed].tolist(), anchored[fixed].tolist(), strict=True):
            apart.hold(person, face_id)
        joined = join_nearest(matrix[free], ids[free], matrix[fixed], anchored[fixed], apart,
                              self.threshold)
        assign.update(joined)
        rest = free & ~np.isin(ids, list(joined))
        groups = people_groups(ids[rest], media[rest], matrix[rest], self.threshold,
                               self.min_photos, apart)
        previous = dict(zip(ids.tolist(), people.tolist(), strict=True))
        confirmed = set(must.values())
        taken: set[int] = set()
        new_groups = []
        for group in sorted(groups, key=len, reverse=True):
            votes: dict[int, int] = {}
            for face_id in group:
                old = previous[face_id]
                if old and old not in confirmed and old not in taken:
                    votes[old] = votes.get(old, 0) + 1
            if votes:  # the person most of these faces were in keeps its id
                person = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
                taken.add(person)
                for face_id in group:  # a group holds no two faces kept apart
                    assign[face_id] = person
            else:
                new_groups.append(group)
        self.catalog.set_face_people(assign, new_groups)
        sorted_faces = sum(1 for p in assign.values() if p) + sum(len(g) for g in new_groups)
        return {"people": len(self.catalog.people(hidden=True)), "sorted": sorted_faces,
                "unsorted": len(ids) - sorted_faces}
