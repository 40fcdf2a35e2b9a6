"""The Python types pyseriald uses where the built-in ones cannot say everything a file holds.

- Object: a dict that also has a class (a Torch7 class object such as nn.Linear, an R S3 list such
  as an lm fit) and R attributes;
- RList: a list with R names that cannot be dict keys (missing, empty or repeated), a class, or
  attributes;
- RArray: a numpy array with R's names, dimnames, class and other attributes (a view, no copy);
- Pairs: key/value pairs whose keys cannot be dict keys (a Lua table used as a key);
- Opaque: something with no plain-data form (an R closure or environment, a Lua function), or an
  R persistent reference (the names a refhook gave an object when the file was written).

Example:

    linear = Object({"weight": w, "bias": b}, classes=["nn.Linear"])
    linear.class_name                 # "nn.Linear"
    r = RList([1.0, 2.0], names=["a", None])
"""
import numpy


class Object(dict):
    """A dict of fields with a class: `classes` (R's class vector, or one Torch7 class name) and
    `attributes` (other R attributes, name -> value)."""

    def __init__(self, fields=(), classes=(), attributes=None):
        super().__init__(fields)
        self.classes = list(classes)
        self.attributes = dict(attributes or {})

    @property
    def class_name(self):
        """The first class ("nn.Linear", "lm"), or None when there is none."""
        return self.classes[0] if self.classes else None

    def __repr__(self):
        return "Object(%s, classes=%r)" % (dict.__repr__(self), self.classes)

    def __eq__(self, other):
        if isinstance(other, Object):
            return (dict.__eq__(self, other) and self.classes == other.classes
                    and self.attributes == other.attributes)
        return dict.__eq__(self, other)

    __hash__ = None


class RList(list):
    """A list with R's `names` (one str or None per element, or None for no names), `classes`
    and `attributes`."""

    def __init__(self, items=(), names=None, classes=(), attributes=None):
        super().__init__(items)
        self.names = list(names) if names is not None else None
        self.classes = list(classes)
        self.attributes = dict(attributes or {})

    def __repr__(self):
        extra = ""
        if self.names is not None:
            extra += ", names=%r" % self.names
        if self.classes:
            extra += ", classes=%r" % self.classes
        return "RList(%s%s)" % (list.__repr__(self), extra)

    def __eq__(self, other):
        if isinstance(other, RList):
            return (list.__eq__(self, other) and self.names == other.names
                    and self.classes == other.classes and self.attributes == other.attributes)
        return list.__eq__(self, other)

    __hash__ = None


class Pairs(list):
    """(key, value) tuples in the file's order, for maps whose keys are not all hashable or not
    all distinct as Python keys (a Lua table used as a key; keys 1 and true in one table).
    `classes` holds a Torch7 class name when the map is a class object's fields."""

    def __init__(self, pairs=(), classes=()):
        super().__init__(pairs)
        self.classes = list(classes)

    def __repr__(self):
        if self.classes:
            return "Pairs(%s, classes=%r)" % (list.__repr__(self), self.classes)
        return "Pairs(%s)" % list.__repr__(self)

    __hash__ = None


class RArray(numpy.ndarray):
    """A numpy array with R attributes: `names` (list of str/None), `dim_names` (R's dimnames: a
    list, dict or RList of one array of str or None per dimension), `classes` and `attributes`.

    Made from an ndarray with RArray.wrap(array, ...), which is a view (no copy). Arrays derived
    from it with the same shape (copies, arithmetic) keep the attributes; others (slices,
    reductions) drop them, since names and dimnames no longer fit.
    """

    @classmethod
    def wrap(cls, array, names=None, dim_names=None, classes=(), attributes=None):
        view = numpy.asarray(array).view(cls)
        view.names = list(names) if names is not None else None
        view.dim_names = dim_names
        view.classes = list(classes)
        view.attributes = dict(attributes or {})
        return view

    def __array_finalize__(self, source):
        keep = source is not None and getattr(source, "shape", None) == self.shape
        self.names = getattr(source, "names", None) if keep else None
        self.dim_names = getattr(source, "dim_names", None) if keep else None
        self.classes = list(getattr(source, "classes", ())) if keep else []
        self.attributes = dict(getattr(source, "attributes", None) or {}) if keep else {}

    def __reduce__(self):
        state = super().__reduce__()
        extra = (self.names, self.dim_names, self.classes, self.attributes)
        return state[0], state[1], (state[2], extra)

    def __setstate__(self, state):
        base_state, (self.names, self.dim_names, self.classes, self.attributes) = state
        super().__setstate__(base_state)


class Opaque:
    """Something with no plain-data form: `type` is what it is ("closure", "environment",
    "function", "torch.Generator", ...) and `description` says a little more. Loading gives one;
    dumping one is refused, except:

    - type "persistent reference": what R's serialize(refhook =) wrote in place of an object;
      `names` holds the names the hook gave it (a list of str, None for NA), and dumping it
      writes that reference again;
    - an environment, external pointer or weak reference that dump's `refhook` names.
    """

    __slots__ = ("type", "description", "names")

    def __init__(self, type, description="", names=None):
        self.type = type
        self.description = description
        self.names = list(names) if names is not None else None

    def __repr__(self):
        if self.names is not None:
            return "Opaque(%r, %r, names=%r)" % (self.type, self.description, self.names)
        if self.description:
            return "Opaque(%r, %r)" % (self.type, self.description)
        return "Opaque(%r)" % self.type

    def __eq__(self, other):
        return (isinstance(other, Opaque) and self.type == other.type
                and self.description == other.description and self.names == other.names)

    def __hash__(self):
        names = tuple(self.names) if self.names is not None else None
        return hash((Opaque, self.type, self.description, names))
