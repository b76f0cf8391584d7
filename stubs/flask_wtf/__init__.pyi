# Flask-WTF 1.3.0 ships no types: what portal/ uses (see ../README.md).
from flask_wtf.form import FlaskForm as FlaskForm
