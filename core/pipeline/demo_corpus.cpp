#include "pipeline/demo_corpus.h"

namespace querylens {

const char* demoCorpus()
{
    // Written for this purpose: short descriptions of everyday photos, and questions with answers
    // in the prompt format BLIP-2 uses.
    return R"(a photo of two cats sleeping on a pink couch next to two remote controls.
a dog running across a green field with a red ball in its mouth.
a man riding a bicycle down a busy city street in the rain.
a woman holding an umbrella while walking past a row of shops.
a plate of pasta with tomato sauce and fresh basil on a wooden table.
a group of people standing on a beach watching the sun set over the ocean.
a small boat floating on a calm lake surrounded by tall pine trees.
a red double decker bus parked in front of an old stone building.
a bowl of fruit with apples, bananas and oranges on a kitchen counter.
a child flying a kite in a park on a windy afternoon.
a black and white photo of a train crossing a bridge over a river.
a snowy mountain road with a yellow car driving towards the camera.
a bird sitting on a branch of a tree covered in white flowers.
a laptop, a cup of coffee and a notebook on a desk near a window.
a baseball player swinging a bat at a ball during a game.
a living room with a grey sofa, a lamp and a large plant in the corner.
a close up of a cat looking out of a window at the garden.
two horses grazing in a meadow in front of a farm house.
a pizza with cheese, mushrooms and olives cut into eight slices.
an airplane flying through a clear blue sky above the clouds.
a street market with people buying vegetables from wooden stalls.
a teddy bear sitting on a bed with a striped blanket.
a giraffe standing next to a tree in a zoo enclosure.
a person skiing down a steep slope covered in fresh snow.
a bathroom with a white sink, a mirror and a green towel.
Question: what is the cat doing? Answer: sleeping.
Question: what color is the couch? Answer: pink.
Question: how many people are in the picture? Answer: three.
Question: where is the dog? Answer: in the park.
Question: what is on the table? Answer: a plate of food.
Question: is it raining? Answer: yes.
Question: what is the man holding? Answer: an umbrella.
Question: what time of day is it? Answer: evening.
Question: what animal is this? Answer: a giraffe.
Question: what is the weather like? Answer: sunny and warm.
)";
}

}  // namespace querylens
